/**
 * `strata gaps` and `strata heal` as an operator runs them: a session removed from the hot
 * tier is listed (JSON and text), one heal run fetches it through the configured
 * synthetic provider, and `gaps` then lists nothing; a data type without bars is refused.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { rowsOf } from "../../src/backfill/providers/synthetic.ts"
import { BACKFILL_DDL } from "../../src/app/worker-process.ts"
import { calendarOf } from "../../src/domain/calendar.ts"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { owedSessions } from "../../src/heal/owed.ts"
import { deleteHot } from "../../src/storage/hot-store.ts"
import { openObjectStore } from "../../src/storage/object-store.ts"
import { writeRows } from "../../src/storage/write-router.ts"
import { writeConfigFile } from "../helpers/backfill-fixture.ts"
import { runStrata } from "../helpers/cli.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const RETENTION = { L1: { market_data: { hot_days: 5, cold_days: 12, intervals: ["1day", "1hour"] } } }
const AT = "2024-12-03T12:00:00Z"

let ns: TestNamespace
let env: NodeJS.ProcessEnv
beforeEach(async () => {
  ns = await testNamespaceWith([...BACKFILL_DDL, ...COMPANIES_DDL], { retention: RETENTION })
  env = { ...ns.env, STRATA_CONFIG: writeConfigFile(mkdtempSync(join(tmpdir(), "strata-heal-cli-")), { retention: RETENTION }) }
})
afterEach(async () => {
  await ns.cleanup()
})

describe("strata gaps / strata heal", () => {
  it("lists a missing session, heals it with one fetch, then lists nothing", async () => {
    const store = openObjectStore(ns.config.storage)
    const owed = owedSessions(ns.config.retention, calendarOf("XNYS"), 1, ["market_data"], Date.parse(AT))
    try {
      for (const o of owed) {
        const rows = rowsOf(42, { symbol: "AAPL", kind: "bars", interval: o.interval, from: o.from, to: o.to }, { now: Date.parse(AT) })
        await writeRows({ sql: ns.sql, store }, "bars", rows, o.hotFrom)
      }
    } finally {
      await store.close()
    }
    await ns.sql`INSERT INTO companies (symbol, layer) VALUES ('AAPL', 1)`
    const hourly = owed.find((o) => o.interval === "1hour")!
    const s = hourly.sessions.at(-1)!
    await deleteHot(ns.sql, "bars", { symbol: "AAPL", interval: "1hour" }, s.session.day, s.session.day + 86_400_000)

    const listed = await runStrata(env, ["gaps", "--data-types", "market_data", "--at", AT, "--json"])
    expect(listed.code, listed.err).toBe(0)
    const report = JSON.parse(listed.out) as { gaps: { symbol: string; interval: string; session: string; tier: string; expected: number }[] }
    expect(report.gaps).toEqual([expect.objectContaining({ symbol: "AAPL", interval: "1hour", session: s.session.date, tier: "hot", expected: 7 })])
    const text = await runStrata(env, ["gaps", "--data-types", "market_data", "--at", AT])
    expect(text.out).toContain(`AAPL     1hour ${s.session.date}  hot   held 0/7`)

    const healed = await runStrata(env, ["heal", "--data-types", "market_data", "--at", AT, "--json"])
    expect(healed.code, healed.err).toBe(0)
    expect(JSON.parse(healed.out)).toMatchObject({ ran: true, heal: { fetched: 1, healed: 1 } })
    const after = await runStrata(env, ["gaps", "--data-types", "market_data", "--at", AT, "--json"])
    expect(JSON.parse(after.out).gaps).toEqual([])
  })

  it("refuses a data type without bars", async () => {
    const r = await runStrata(env, ["gaps", "--data-types", "news"])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/bars only/)
  })
})
