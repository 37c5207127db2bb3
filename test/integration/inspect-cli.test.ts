/**
 * `strata inspect SYMBOL` after the engine qualified a symbol and its backfill finished:
 * the actor's layer and snapshot, the transition, the finished command, coverage per
 * series and tier, and rows per tier equal to what each tier holds. An unknown symbol
 * exits 1.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { ingressKeys } from "../../streams/keys.ts"
import { openObjectStore } from "../../src/storage/object-store.ts"
import { storedRows } from "../helpers/backfill-fixture.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { runStrata } from "../helpers/cli.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
const T0 = Date.UTC(2026, 0, 7, 14, 30)

describe("strata inspect", () => {
  let ns: TestNamespace
  let engine: RunningEngine | undefined
  let dir: string
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-inspect-"))
    ns = await testNamespace({
      retention: { L1: { market_data: { hot_days: 3, cold_days: 10, intervals: ["1day"] }, news: { hot_days: 3, cold_days: 10 } } },
      backfill: { workers: 1, block_ms: 100 }
    })
  })
  afterEach(async () => {
    await engine?.stop()
    engine = undefined
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  const strata = (...args: string[]) => runStrata(ns.env, args)

  it("shows the actor, transitions, commands, coverage and rows per tier of a symbol", async () => {
    engine = await runEngine(ns.config)
    const scores = ingressKeys(ns.prefix).scores
    await ns.redis.xadd(scores, "*", "symbol", "NVDA", "liquidity", "0.9", "ts", String(T0))
    await ns.redis.xadd(scores, "*", "symbol", "NVDA", "liquidity", "0.9", "ts", String(T0 + 60_000))
    await waitUntil("backfill done", async () => {
      const r = await ns.sql`SELECT status FROM backfill_progress WHERE symbol = 'NVDA'`.catch(() => [])
      return r[0]?.["status"] === "done"
    }, 120_000)
    await waitUntil("projected", async () => (await ns.sql`SELECT count(*)::int AS n FROM layer_transitions`)[0]?.["n"] === 1)
    await engine.stop()
    engine = undefined

    const r = await strata("inspect", "nvda", "--json")
    expect(r.code, r.err).toBe(0)
    const report = JSON.parse(r.out) as {
      actor: { layer: number; snapshot: { layer: number } }
      company: { layer: number }
      transitions: { type: string; from: number; to: number; at: number }[]
      backfill: { onStream: { symbol: string }[]; pending: unknown[]; recent: { status: string; layer: number }[] }
      series: { kind: string; interval: string; coverage: { tier: string }[]; hotRows: number; coldRows: number; coldObjects: number }[]
    }
    expect(report.actor.layer).toBe(1)
    expect(report.actor.snapshot.layer).toBe(1)
    expect(report.company.layer).toBe(1)
    expect(report.transitions).toEqual([{ type: "SymbolQualified", from: 0, to: 1, at: T0 + 60_000, cause: expect.any(String) }])
    expect(report.backfill.onStream.map((c) => c.symbol)).toEqual(["NVDA"])
    expect(report.backfill.pending).toEqual([])
    expect(report.backfill.recent.map((c) => [c.status, c.layer])).toEqual([["done", 1]])
    const store = openObjectStore(ns.config.storage)
    try {
      const owed = (await ns.sql`SELECT DISTINCT kind, interval FROM storage_coverage WHERE symbol = 'NVDA'`).map((c) => `${c["kind"]}/${c["interval"]}`)
      expect(owed).toContain("bars/1day")
      expect(report.series.map((s) => `${s.kind}/${s.interval}`).sort()).toEqual(owed.sort())
      for (const s of report.series) {
        const held = await storedRows(ns.sql, store, s.kind as "bars", "NVDA", s.interval as "1day")
        expect([s.kind, s.hotRows, s.coldRows]).toEqual([s.kind, held.hot.length, held.cold.length])
      }
      const bars = report.series.find((s) => s.kind === "bars" && s.interval === "1day")
      expect(bars?.hotRows).toBeGreaterThan(0)
      expect(bars?.coldRows).toBeGreaterThan(0)
      expect(bars?.coldObjects).toBeGreaterThan(0)
      expect(bars?.coverage.map((c) => c.tier).sort()).toEqual(["cold", "hot"])
    } finally {
      await store.close()
    }

    const text = await strata("inspect", "NVDA")
    expect(text.out).toContain("actor  layer 1")
    expect(text.out).toContain("SymbolQualified  L0 → L1")
    const unknown = await strata("inspect", "ZZZZ")
    expect(unknown.code).toBe(1)
    expect(unknown.out).toContain("nothing held")
  }, 300_000)
})
