/**
 * A paged provider request that fails part-way resumes at the page that failed: with a
 * 429 on one page and a 503 on a later one, the local Polygon-shaped server serves every
 * page exactly once, and `backfill_progress.requests` equals the requests the server saw
 * (the failed ones included).
 */
import { describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { expectedRows, polygonBackfill, runWorkers, waitForFinished } from "../helpers/backfill-fixture.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const PAGE = 100

describe("backfill paging", () => {
  const t = polygonBackfill({
    retention: { L2: { intraday: { hot_days: { "1min": 2 }, cold_days: 3, intervals: ["1min"] } } },
    backfill: { claim_idle_ms: 30_000, retry: { base_ms: 10, max_delay_ms: 20, max_attempts: 3, max_rate_limited_waits: 5 } }
  }, { pageSize: PAGE })

  it("resumes at the failed page after a 429 and a 503, and counts every request made", async () => {
    // Page 4 of a request is refused once with 429, page 6 once with 503.
    const { ns, server } = t
    server.script({ status: 429, retryAfter: "0", cursor: 3 * PAGE }, { status: 503, cursor: 5 * PAGE })
    t.workers = await runWorkers(ns.config, ns, { POLYGON_API_KEY: server.apiKey })
    await ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*",
      ...commandFields({ id: "bf-paging", symbol: "AAPL", layer: 2, from: 0, dataTypes: ["intraday"], at: AT, cause: MANUAL_CAUSE, priority: 2 }))
    await waitForFinished(ns.sql, 1, 60_000)

    const [row] = await ns.sql<{ status: string; requests: number; fetched: number; failed: number }[]>`
      SELECT status, requests, fetched::int AS fetched, failed FROM backfill_progress WHERE command_id = 'bf-paging'`
    expect(row?.status).toBe("done")
    // Both scripted failures were answered (the command did page that far).
    expect(server.log.filter((r) => r.status === 429 || r.status === 503).length).toBe(2)
    // Every page served exactly once.
    const served = new Map<string, number>()
    for (const r of server.log.filter((l) => l.status === 200)) served.set(`${r.key}#${r.cursor}`, (served.get(`${r.key}#${r.cursor}`) ?? 0) + 1)
    expect([...served.values()].every((n) => n === 1), JSON.stringify([...served])).toBe(true)
    expect(served.size).toBeGreaterThan(6)
    // Requests counted = requests seen by the provider, failed ones included.
    expect(row?.requests).toBe(server.log.length)
    expect(row?.failed).toBe(1)
    const expected = expectedRows(ns.config.retention, 2, ["intraday"], AT, "AAPL", 42)
    expect(row?.fetched).toBe(expected.reduce((n, s) => n + s.hot.length + s.cold.length, 0))
  })
})
