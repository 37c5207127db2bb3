/**
 * End to end through a real Redis and PostgreSQL: scores XADDed as redis-cli would write
 * them produce exactly the lifecycle entries, backfill commands and companies rows the
 * DESIGN §4 default rules call for.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { reconcile } from "../../src/engine/reconcile.ts"
import { runEngine, streamFields, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2026, 0, 5, 14, 30)
const MIN = 60_000

describe("engine end to end", () => {
  let ns: TestNamespace
  let engine: RunningEngine | undefined

  beforeEach(async () => {
    ns = await testNamespace(ENGINE_ONLY)
  })
  afterEach(async () => {
    await engine?.stop()
    engine = undefined
    await ns.cleanup()
  })

  const xadd = (...fields: (string | number)[]) => ns.redis.xadd(ingressKeys(ns.prefix).scores, "*", ...fields.map(String))

  it("qualifies, promotes, holds inside the band, demotes after the dwell, with commands and companies rows", async () => {
    engine = await runEngine(ns.config)
    const keys = partitionKeys(ns.prefix, 0)
    // Two qualifying events: L1 needs liquidity ≥ 0.60 twice.
    await xadd("symbol", "aapl", "liquidity", "0.91", "ts", T0)
    await xadd("symbol", "AAPL ", "liquidity", "0.92", "ts", T0 + MIN)
    // Inside the hysteresis band (0.50 ≤ x < 0.60): nothing moves.
    await xadd("symbol", "AAPL", "liquidity", "0.55", "ts", T0 + 2 * MIN)
    // L3 needs liquidity, catalyst and activity: two events with all three.
    await xadd("symbol", "AAPL", "liquidity", "0.9", "catalyst", "0.8", "activity", "0.75", "ts", T0 + 3 * MIN)
    await xadd("symbol", "AAPL", "catalyst", "0.8", "activity", "0.8", "ts", T0 + 4 * MIN)
    // Activity falls below its demote bar before min_dwell (15m): held at L3.
    await xadd("symbol", "AAPL", "activity", "0.1", "ts", T0 + 10 * MIN)
    // After 15 minutes of event time in L3: demoted to L2 (catalyst still holds).
    await xadd("symbol", "AAPL", "activity", "0.1", "ts", T0 + 20 * MIN)
    // A late event (older than the last applied) is counted and ignored.
    await xadd("symbol", "AAPL", "liquidity", "0.1", "ts", T0)
    // Bad input is dead-lettered.
    await xadd("symbol", "../x", "liquidity", "0.9")
    await xadd("liquidity", "0.9")

    await waitUntil("all scores applied", async () => (await ns.redis.hget(keys.stats, "entries")) === "10")
    const lifecycle = await streamFields(ns.redis, keys.lifecycle)
    expect(lifecycle.map((e) => [e["type"], e["from"], e["to"], Number(e["at"]) - T0])).toEqual([
      ["SymbolQualified", "0", "1", MIN],
      ["SymbolPromoted", "1", "3", 4 * MIN],
      ["SymbolDemoted", "3", "2", 20 * MIN]
    ])
    const backfill = await streamFields(ns.redis, keys.backfill)
    expect(backfill.map((c) => [c["symbol"], c["layer"], c["from"], c["data_types"]])).toEqual([
      ["AAPL", "1", "0", "market_data,intraday,news,corporate_actions"],
      ["AAPL", "3", "1", "market_data,intraday,news,corporate_actions,social_sentiment"]
    ])
    expect(backfill[0]?.["cause"]).toBe(lifecycle[0]?.["cause"])
    const dead = await streamFields(ns.redis, ingressKeys(ns.prefix).scoresDead)
    expect(dead.map((d) => d["reason"]?.split(" ")[0])).toEqual(["invalid", "missing"])
    expect(dead[0]?.["symbol"]).toBe("../x")
    expect(await ns.redis.hget(keys.stats, "late")).toBe("1")

    await waitUntil("projector caught up", async () => (await reconcile(ns.redis, ns.sql, keys)).projectorBehind === 0)
    const rows = await ns.sql`SELECT symbol, layer, layer1_qualified, layer2_qualified, layer3_qualified, liquidity_score FROM companies`
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { symbol: "AAPL", layer: 2, layer1_qualified: true, layer2_qualified: true, layer3_qualified: false, liquidity_score: 0.9 }
    ])
    const legacy = await ns.sql`SELECT symbol FROM companies WHERE layer1_qualified ORDER BY liquidity_score DESC`
    expect(legacy.map((r) => r["symbol"])).toEqual(["AAPL"])
    expect((await ns.sql`SELECT count(*)::int AS n FROM layer_transitions`)[0]?.["n"]).toBe(3)
    expect((await reconcile(ns.redis, ns.sql, keys)).divergent).toEqual([])
    // Nothing left pending in the engine's group.
    const pending = (await ns.redis.xpending(ingressKeys(ns.prefix).scores, GROUPS.engine)) as unknown[]
    expect(pending[0]).toBe(0)
  })

  it("processes entries written before its first start, and resumes from snapshots after a restart", async () => {
    const keys = partitionKeys(ns.prefix, 0)
    await xadd("symbol", "MSFT", "liquidity", "0.7", "ts", T0)
    engine = await runEngine(ns.config)
    await waitUntil("first entry applied", async () => (await ns.redis.hget(keys.stats, "entries")) === "1")
    await engine.stop()
    // The second qualifying event arrives while the engine is down; the restarted engine
    // must remember the first one (confirmations: 2) from the persisted snapshot.
    await xadd("symbol", "MSFT", "liquidity", "0.7", "ts", T0 + MIN)
    engine = await runEngine(ns.config)
    await waitUntil("qualified", async () => (await ns.redis.xlen(keys.lifecycle)) === 1)
    const [event] = await streamFields(ns.redis, keys.lifecycle)
    expect(event?.["type"]).toBe("SymbolQualified")
    expect(Number(event?.["at"])).toBe(T0 + MIN)
  })

  it("serves /healthz, /readyz, /metrics, /api/status, /api/overview and the dashboard on its HTTP port", async () => {
    engine = await runEngine(ns.config)
    const base = `http://127.0.0.1:${engine.handles.httpPort}`
    await xadd("symbol", "NVDA", "liquidity", "0.9", "ts", T0)
    await xadd("symbol", "NVDA", "liquidity", "0.9", "ts", T0 + MIN)
    await xadd("symbol", "", "liquidity", "0.9")
    const keys = partitionKeys(ns.prefix, 0)
    await waitUntil("applied", async () => (await ns.redis.hget(keys.stats, "entries")) === "3")
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: "ready", checks: { redis: true, postgres: true } })
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^strata_ingest_entries_total 3$/m)
    expect(metrics).toMatch(/^strata_ingest_dead_total 1$/m)
    expect(metrics).toMatch(/^strata_ingest_transitions_total 1$/m)
    expect(metrics).toMatch(new RegExp(`^strata_group_backlog\\{stream="${ns.prefix}:scores",group="strata-engine"\\} 0$`, "m"))
    // Running totals are counters, latency a histogram, the dead-letter streams are counted by source, one prefix.
    expect(metrics).toMatch(/^# TYPE strata_ingest_entries_total counter$/m)
    expect(metrics).toMatch(/^# TYPE strata_ingest_commit_latency_seconds histogram$/m)
    expect(metrics).toMatch(/^strata_ingest_commit_latency_seconds_bucket\{le="\+Inf"\} [1-9]/m)
    expect(metrics).toMatch(new RegExp(`^strata_dead_letters\\{stream="${ns.prefix}:scores:dead",source="scores"\\} 1$`, "m"))
    expect(metrics).toMatch(/^strata_process_cpu_seconds_total /m)
    expect(metrics).not.toMatch(/strata_process_process_|strata_process_nodejs_/)
    const status = (await (await fetch(`${base}/api/status`)).json()) as { ingest: { applied: number } }
    expect(status.ingest.applied).toBe(2)
    expect((await fetch(`${base}/nope`)).status).toBe(404)
    await waitUntil("projected", async () => (await ns.sql`SELECT count(*)::int AS n FROM companies`)[0]?.["n"] === 1)
    const o = (await (await fetch(`${base}/api/overview`)).json()) as {
      layers: Record<string, number>; actors: number; transitions: { symbol: string; from: number; to: number }[]
      backlog: Record<string, number | null>
    }
    expect(o.layers).toEqual({ "0": 0, "1": 1, "2": 0, "3": 0 })
    expect(o.actors).toBe(1)
    expect(o.transitions).toEqual([{ symbol: "NVDA", type: "SymbolQualified", from: 0, to: 1, at: T0 + MIN }])
    expect(o.backlog[`${ns.prefix}:scores (strata-engine)`]).toBe(0)
    // Entries were stamped by Redis on arrival, so their commit latency counts.
    await waitUntil("commit latency sampled", async () =>
      ((await (await fetch(`${base}/api/series`)).json()) as { commitP99: (number | null)[] }).commitP99.some((v) => v !== null))
    const page = await fetch(`${base}/`)
    expect(page.headers.get("content-type")).toMatch(/text\/html/)
    expect(await page.text()).toContain("dashboard/app.js")
    expect(await (await fetch(`${base}/dashboard/app.js`)).text()).toContain("api/overview")
  })
})
