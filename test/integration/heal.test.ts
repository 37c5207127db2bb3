/**
 * Gaps and healing against real PostgreSQL and a real lake: a backfilled window has no
 * gaps (a holiday and an early close inside it); sessions deleted at random (seeded) from
 * the hot tier, from inside cold objects, and a whole cold object are listed by
 * `findGaps` exactly; one healing pass requests exactly those sessions, once each, from a
 * counting provider; then nothing is missing. A provider that answers one session empty
 * twice gets it recorded as empty (with its reason), left out of the gaps, and not asked
 * a third time. The scheduled pass heals on its own.
 */
import { Effect, Exit, Scope } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { BACKFILL_DDL } from "../../src/app/worker-process.ts"
import { rowsOf, syntheticProvider } from "../../src/backfill/providers/synthetic.ts"
import type { FetchRequest, Provider } from "../../src/backfill/providers/provider.ts"
import { unlimited } from "../../src/backfill/rate-limit.ts"
import { calendarOf } from "../../src/domain/calendar.ts"
import type { Layer } from "../../src/domain/layers.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { findGaps, type GapsQuery } from "../../src/heal/gaps.ts"
import { healPass, type HealDeps } from "../../src/heal/heal.ts"
import { owedSessions } from "../../src/heal/owed.ts"
import { healFiber } from "../../src/heal/schedule.ts"
import { createLogger } from "../../src/services/logger.ts"
import { readCold, removeColdRange } from "../../src/storage/cold-store.ts"
import { forgetObjects, objectsOverlapping } from "../../src/storage/manifest.ts"
import { recordCoverage } from "../../src/storage/coverage.ts"
import { deleteHot } from "../../src/storage/hot-store.ts"
import { openObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { encodeParquet } from "../../src/storage/parquet.ts"
import { writeRows } from "../../src/storage/write-router.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const POLICY = {
  L1: {
    market_data: { hot_days: 6, cold_days: 40, intervals: ["1day", "1hour"] },
    intraday: { hot_days: { "1min": 3, "5min": 3 }, cold_days: 10, intervals: ["1min", "5min"] }
  }
}
// Tuesday 2024-12-03, 12:00 UTC: the windows hold Thanksgiving (closed) and the 13:00 close after it.
const NOW = Date.UTC(2024, 11, 3, 12)
const SYMBOLS = ["AAA", "BBB", "CCC"]
const cal = calendarOf("XNYS")

/** mulberry32: the test's seeded random choices. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** The synthetic provider, counting every request; `empty` sessions are answered with no rows. */
const countingProvider = (empty: ReadonlySet<string> = new Set()) => {
  const inner = syntheticProvider(42, unlimited, { now: () => NOW })
  const requests: string[] = []
  const provider: Provider = {
    name: "counting", supports: () => true,
    fetch: async (req, session) => {
      const key = `${req.symbol}|${req.interval}|${new Date(req.from).toISOString().slice(0, 10)}|${(req.to - req.from) / DAY_MS}`
      requests.push(key)
      const res = await inner.fetch(req, session)
      return empty.has(key) ? { rows: [], requests: res.requests } : res
    }
  }
  return { provider, requests }
}

let ns: TestNamespace
let store: ObjectStore
beforeEach(async () => {
  ns = await testNamespaceWith([...BACKFILL_DDL, ...COMPANIES_DDL], { retention: POLICY })
  store = openObjectStore(ns.config.storage)
})
afterEach(async () => {
  await store.close()
  await ns.cleanup()
})

const layers = new Map<string, Layer>(SYMBOLS.map((s) => [s, 1]))
const query = (): GapsQuery => ({ policy: ns.config.retention, calendar: cal, now: NOW, layers, dataTypes: ["market_data", "intraday"] })
const owed = () => owedSessions(ns.config.retention, cal, 1, ["market_data", "intraday"], NOW)

/** What a finished backfill stores: every owed series of every symbol, both tiers, with coverage. */
const backfill = async () => {
  for (const symbol of SYMBOLS) for (const o of owed()) {
    const req: FetchRequest & { kind: "bars" } = { symbol, kind: "bars", interval: o.interval, from: o.from, to: o.to }
    await writeRows({ sql: ns.sql, store }, "bars", rowsOf(42, req, { now: NOW }), o.hotFrom)
    await recordCoverage(ns.sql, { kind: "bars", symbol, interval: o.interval, from: o.from, to: o.hotFrom, tier: "cold" })
    await recordCoverage(ns.sql, { kind: "bars", symbol, interval: o.interval, from: o.hotFrom, to: o.to, tier: "hot" })
  }
}

const deps = (provider: Provider): HealDeps => ({
  sql: ns.sql, store, provider, backfill: ns.config.backfill, unsettled: (what, e) => { throw new Error(`${what}: ${String(e)}`) }
})
const gapKeys = async () => (await findGaps({ sql: ns.sql, store }, query())).gaps.map((g) => `${g.symbol}|${g.interval}|${g.session}|1`).sort()

/** Remove one session's bars from inside its cold object, keeping the object's other rows. */
const deleteColdSession = async (symbol: string, interval: string, day: number) => {
  const before = (await readCold({ sql: ns.sql, store }, "bars", symbol, interval, day, day + DAY_MS)).length
  expect(before).toBeGreaterThan(0)
  await removeColdRange({ sql: ns.sql, store }, "bars", symbol, interval, day, day + DAY_MS)
}

describe("gaps and healing", () => {
  it("finds exactly the deleted sessions in both tiers, heals exactly them, and leaves no gap", async () => {
    await backfill()
    // Weekends, Thanksgiving and the 13:00 close after it are no gaps.
    expect(await gapKeys()).toEqual([])
    const next = random(20261201)
    const expected = new Set<string>()
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T
    // Hot: three whole sessions and half of one (fewer bars than owed).
    for (let i = 0; expected.size < 4; i++) {
      const o = pick(owed().filter((x) => expected.size < 3 || x.interval !== "1day"))
      const s = pick(o.sessions.filter((x) => x.tier === "hot"))
      const symbol = pick(SYMBOLS)
      const key = `${symbol}|${o.interval}|${s.session.date}|1`
      if (expected.has(key)) continue
      const to = expected.size === 3 ? s.session.open + (s.session.close - s.session.open) / 2 : s.session.day + DAY_MS
      expect(await deleteHot(ns.sql, "bars", { symbol, interval: o.interval }, s.session.day, to)).toBeGreaterThan(0)
      expected.add(key)
    }
    // Cold: sessions cut out of objects that hold other sessions too (1day per year, 1hour per month).
    for (const interval of ["1day", "1hour"] as const) {
      const o = owed().find((x) => x.interval === interval)!
      for (let i = 0; i < 2; i++) {
        const s = pick(o.sessions.filter((x) => x.tier === "cold"))
        const symbol = pick(SYMBOLS)
        const key = `${symbol}|${interval}|${s.session.date}|1`
        if (expected.has(key)) continue
        await deleteColdSession(symbol, interval, s.session.day)
        expected.add(key)
      }
    }
    // A whole cold object lost from the store, as `strata lake verify --repair` leaves it: gone
    // from the store and forgotten by the manifest. Every owed session it held is a gap.
    const minute = owed().find((x) => x.interval === "1min")!
    const gone = pick(minute.sessions.filter((x) => x.tier === "cold"))
    const [object] = await objectsOverlapping(ns.sql, store.location, { kind: "bars", symbol: "BBB", interval: "1min" }, gone.session.day, gone.session.day + DAY_MS)
    expect(object).toBeDefined()
    await store.delete(object!.key)
    await forgetObjects(ns.sql, store.location, [object!.key])
    for (const s of minute.sessions) {
      if (s.tier === "cold" && s.session.close > object!.minMs && s.session.open <= object!.maxMs) expected.add(`BBB|1min|${s.session.date}|1`)
    }

    expect(await gapKeys()).toEqual([...expected].sort())

    const { provider, requests } = countingProvider()
    const pass = await healPass(deps(provider), query(), 3)
    expect(pass.ran).toBe(true)
    expect(requests.sort()).toEqual([...expected].sort())
    expect(pass.heal).toMatchObject({ fetched: expected.size, healed: expected.size, recorded: 0, open: 0 })
    expect(await gapKeys()).toEqual([])

    // A second pass has nothing to fetch.
    const again = countingProvider()
    await healPass(deps(again.provider), query(), 3)
    expect(again.requests).toEqual([])
  })

  it("records a session the provider answers empty twice, lists it no more and does not ask a third time", async () => {
    await backfill()
    const o = owed().find((x) => x.interval === "1day")!
    const s = o.sessions.find((x) => x.tier === "hot")!
    await deleteHot(ns.sql, "bars", { symbol: "AAA", interval: "1day" }, s.session.day, s.session.day + DAY_MS)
    const key = `AAA|1day|${s.session.date}|1`
    const { provider, requests } = countingProvider(new Set([key]))

    const first = await healPass(deps(provider), query(), 3)
    expect(first.heal).toMatchObject({ fetched: 1, healed: 0, open: 1 })
    expect(await gapKeys()).toEqual([key])

    const second = await healPass(deps(provider), query(), 3)
    expect(second.heal).toMatchObject({ fetched: 1, recorded: 1 })
    const [row] = await ns.sql<{ status: string; reason: string; attempts: number }[]>`
      SELECT status, reason, attempts FROM heal_sessions WHERE symbol = 'AAA' AND interval = '1day'`
    expect(row).toEqual({ status: "empty", reason: "the provider returned no bars for this session", attempts: 2 })
    const report = await findGaps({ sql: ns.sql, store }, query())
    expect(report.gaps).toEqual([])
    expect(report.recorded).toBe(1)

    await healPass(deps(provider), query(), 3)
    expect(requests).toEqual([key, key])
  })

  it("runs healing passes on the configured schedule", async () => {
    await backfill()
    const o = owed().find((x) => x.interval === "5min")!
    const s = o.sessions.find((x) => x.tier === "hot")!
    await deleteHot(ns.sql, "bars", { symbol: "CCC", interval: "5min" }, s.session.day, s.session.day + DAY_MS)
    expect(await gapKeys()).toEqual([`CCC|5min|${s.session.date}|1`])
    await ns.sql`INSERT INTO companies (symbol, layer) VALUES ('AAA', 1), ('BBB', 1), ('CCC', 1)`
    const { provider, requests } = countingProvider()
    const config = { ...ns.config, backfill: { ...ns.config.backfill, heal: { every: "1s", max_attempts: 3 } } }
    const scope = Effect.runSync(Scope.make())
    try {
      const log = createLogger("heal-test", "warn")
      await Effect.runPromise(Scope.provide(scope)(healFiber({ ...deps(provider), redis: ns.redis, log }, config, () => NOW)))
      await waitUntil("the scheduled pass healed the session", async () => requests.length > 0 && (await gapKeys()).length === 0, 60_000)
      expect(requests).toEqual([`CCC|5min|${s.session.date}|1`])
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})
