/**
 * Migrations against an install that already has its tables run no DDL, so an open
 * transaction elsewhere (a paused engine's projector) cannot hold a starting process;
 * processes that migrate a new schema at the same moment take turns and all start.
 */
import { afterEach, describe, expect, it } from "vitest"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { STORAGE_DDL } from "../../src/storage/index.ts"
import { migrate, openPostgres } from "../../src/services/postgres.ts"
import { pollUntil } from "../../src/services/poll.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const DDL = [...COMPANIES_DDL, ...STORAGE_DDL]

describe("migrate", () => {
  let ns: TestNamespace | undefined
  afterEach(async () => {
    await ns?.cleanup()
    ns = undefined
  })

  it("does not wait behind another session's open write transaction once the tables exist", async () => {
    ns = await testNamespace()
    await migrate(ns.sql, ns.schema, DDL)
    const writer = await ns.sql.reserve()
    try {
      await writer`BEGIN`
      await writer`INSERT INTO companies (symbol) VALUES ('AAPL')`
      let outcome: "done" | "blocked" | undefined
      const run = migrate(ns.sql, ns.schema, DDL).then(() => { outcome ??= "done" })
      // Either the migration finishes, or some session of this schema's migration is seen
      // waiting for a lock: whichever state comes first decides.
      await pollUntil("the migration to finish or to wait for a lock", async () => {
        if (outcome !== undefined) return true
        const waiting = await ns!.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query ILIKE 'CREATE %' AND datname = current_database()`
        if ((waiting[0]?.n ?? 0) > 0) outcome ??= "blocked"
        return outcome !== undefined
      }, 120_000)
      expect(outcome).toBe("done")
      await run
    } finally {
      // Ends the transaction whatever the outcome, so a blocked migration can finish.
      await writer`ROLLBACK`
      writer.release()
    }
  })

  it("runs a statement it has not run before, and only that one", async () => {
    ns = await testNamespace()
    await migrate(ns.sql, ns.schema, COMPANIES_DDL)
    const before = await ns.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM strata_migrations`
    await migrate(ns.sql, ns.schema, [...COMPANIES_DDL, "CREATE TABLE IF NOT EXISTS migrate_probe (id int)"])
    const after = await ns.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM strata_migrations`
    expect(after[0]!.n).toBe(before[0]!.n + 1)
    expect(await ns.sql`SELECT to_regclass('migrate_probe') IS NOT NULL AS present`).toEqual([{ present: true }])
  })

  it("lets processes that start together migrate one new schema at once: each finishes, every statement once", async () => {
    ns = await testNamespace()
    const schema = `${ns.schema}_fresh`
    const pools = Array.from({ length: 4 }, () => openPostgres(ns!.databaseUrl, schema, 2))
    try {
      await Promise.all(pools.map((pool) => migrate(pool, schema, DDL)))
      const ledger = await pools[0]!<{ n: number }[]>`SELECT count(*)::int AS n FROM strata_migrations`
      expect(ledger[0]!.n).toBe(new Set(DDL).size)
    } finally {
      await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })))
      await ns.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    }
  })
})
