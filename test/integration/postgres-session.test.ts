/**
 * A session of its own (advisory locks held across statements) against a real
 * PostgreSQL whose server process for that session is terminated: later statements fail
 * at once rather than hang or run on a fresh connection without the lock, and the lock is
 * free again for others.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { IDLE_IN_TRANSACTION_MS, openPostgres, openSession, type Sql } from "../../src/services/postgres.ts"
import { withSeries } from "../../src/storage/cold-commit.ts"
import { localObjectStore } from "../../src/storage/object-store.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const LOCK = 424242

const terminate = async (admin: Sql, pid: number) => {
  await admin`SELECT pg_terminate_backend(${pid})`
}

const lockIsFree = async (admin: Sql): Promise<boolean> => {
  const other = await admin.begin(async (tx) => {
    const [r] = await tx<{ ok: boolean }[]>`SELECT pg_try_advisory_xact_lock(${LOCK}) AS ok`
    return r!.ok
  })
  return other
}

describe("a session of its own", () => {
  let ns: TestNamespace | undefined
  const dirs: string[] = []
  afterEach(async () => {
    await ns?.cleanup()
    ns = undefined
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it("fails every statement after its connection is lost, and its lock is released", async () => {
    ns = await testNamespace()
    const session = openSession(ns.sql)
    const [me] = await session.sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid, pg_advisory_lock(${LOCK})`
    expect(await lockIsFree(ns.sql)).toBe(false)
    await terminate(ns.sql, me!.pid)
    // Neither statement may hang (the test's timeout would fail it) or succeed on a new
    // connection that does not hold the lock.
    await expect(session.sql`SELECT 1`).rejects.toThrow()
    await expect(session.sql`SELECT pg_backend_pid()`).rejects.toThrow()
    expect(await lockIsFree(ns.sql)).toBe(true)
    await session.end()
    // The pool beside it is unharmed.
    expect((await ns.sql<{ one: number }[]>`SELECT 1 AS one`)[0]!.one).toBe(1)
  }, 60_000)

  it("makes a series change fail when its session is lost, and the next change of that series runs", async () => {
    ns = await testNamespace()
    const root = mkdtempSync(join(tmpdir(), "strata-session-"))
    dirs.push(root)
    const lake = { sql: ns.sql, store: localObjectStore(root) }
    const series = { kind: "bars", symbol: "AAPL", interval: "1min" } as const
    const lost = withSeries(lake, series, async (conn, inTx) => {
      const [me] = await conn<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`
      await terminate(ns!.sql, me!.pid)
      return inTx(async () => conn`SELECT 1`)
    })
    await expect(lost).rejects.toThrow()
    const again = await withSeries(lake, series, async (conn, inTx) => inTx(async () => (await conn<{ n: number }[]>`SELECT 2 AS n`)[0]!.n))
    expect(again).toBe(2)
  }, 60_000)

  it("opens pools and sessions whose transactions PostgreSQL ends when left idle", async () => {
    ns = await testNamespace()
    const pool = openPostgres(ns.databaseUrl, ns.schema, 1)
    const session = openSession(pool)
    try {
      for (const sql of [pool, session.sql]) {
        const [r] = await sql<{ ms: string }[]>`SELECT setting AS ms FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'`
        expect(Number(r!.ms)).toBe(IDLE_IN_TRANSACTION_MS)
      }
    } finally {
      await session.end()
      await pool.end()
    }
  }, 60_000)
})
