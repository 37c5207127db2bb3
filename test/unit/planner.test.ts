/**
 * Planner properties (fast-check): for any policy, event time, coverage and chunk size,
 * the tasks never overlap coverage, never leave the window, and together with coverage
 * cover the window exactly; they split at the hot boundary; higher layers come first.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { DATA_TYPES, type DataType, type RetentionPolicy } from "../../config/schema.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import type { Layer } from "../../src/domain/layers.ts"
import {
  coverageKey, effectiveLayer, owedTargets, plan, planMany, type ChunkDays, type Coverage, type FetchTask
} from "../../src/backfill/planner.ts"
import { intersectRange, mergeRanges, rangeLength, subtractRanges, type Range } from "../../src/domain/ranges.ts"

const DEFAULTS = loadConfig({ env: {} })
const T_MIN = Date.UTC(2020, 0, 1)
const T_MAX = Date.UTC(2030, 0, 1)

const days = fc.integer({ min: 0, max: 400 })
const dataTypePolicy = fc.record({
  hot_days: fc.oneof(days, fc.record({ "1min": days, "5min": days }, { requiredKeys: [] })),
  cold_days: days,
  intervals: fc.subarray(["1day", "1hour", "5min", "1min"] as const, { minLength: 1 })
})
const layerPolicy = fc.record(
  Object.fromEntries(DATA_TYPES.map((d) => [d, dataTypePolicy])) as Record<DataType, typeof dataTypePolicy>,
  { requiredKeys: [] }
)
const policyArb = fc.record({ L0: layerPolicy, L1: layerPolicy, L2: layerPolicy, L3: layerPolicy }) as fc.Arbitrary<RetentionPolicy>
const chunkArb = fc.record({
  "1day": fc.integer({ min: 1, max: 4000 }), "1hour": fc.integer({ min: 1, max: 200 }), "5min": fc.integer({ min: 1, max: 40 }),
  "1min": fc.integer({ min: 1, max: 10 }), tick: fc.integer({ min: 1, max: 3 }), events: fc.integer({ min: 1, max: 400 })
}) as fc.Arbitrary<ChunkDays>
const atArb = fc.integer({ min: T_MIN, max: T_MAX })
const layerArb = fc.constantFrom<Layer>(0, 1, 2, 3)
const dataTypesArb = fc.subarray([...DATA_TYPES], { minLength: 1 })
/** Coverage as day-aligned ranges near the event time, per key the tests may ask about. */
const coverageArb = (at: number) =>
  fc.array(
    fc.tuple(fc.constantFrom("bars|1day", "bars|1hour", "bars|5min", "bars|1min", "news|", "corporate_actions|", "social_sentiment|"),
      fc.integer({ min: -450, max: 5 }), fc.integer({ min: 1, max: 120 })),
    { maxLength: 12 }
  ).map((items) => {
    const day0 = Math.floor(at / DAY_MS) * DAY_MS
    const m = new Map<string, Range[]>()
    for (const [key, start, len] of items) {
      const from = day0 + start * DAY_MS
      m.set(key, [...(m.get(key) ?? []), { from, to: from + len * DAY_MS }])
    }
    return m as Coverage
  })

const scenario = fc.record({ policy: policyArb, layer: layerArb, dataTypes: dataTypesArb, at: atArb, chunks: chunkArb })
  .chain((s) => coverageArb(s.at).map((coverage) => ({ ...s, coverage })))

const tasksOfKey = (tasks: readonly FetchTask[], key: string) => tasks.filter((t) => coverageKey(t.kind, t.interval) === key)

describe("planner", () => {
  test.prop([scenario])("tasks never overlap coverage, never leave the window, and cover it exactly with coverage", (s) => {
    const cmd = { symbol: "AAPL", layer: s.layer, dataTypes: s.dataTypes, at: s.at, priority: s.layer }
    const tasks = plan(cmd, s.policy, s.coverage, s.chunks)
    const targets = owedTargets(s.policy, s.layer, s.dataTypes, s.at)
    // Every task belongs to a target.
    const keys = new Set(targets.map((t) => coverageKey(t.kind, t.interval)))
    for (const t of tasks) expect(keys.has(coverageKey(t.kind, t.interval))).toBe(true)
    for (const target of targets) {
      const key = coverageKey(target.kind, target.interval)
      const mine = tasksOfKey(tasks, key)
      const held = s.coverage.get(key) ?? []
      for (const t of mine) {
        expect(t.to).toBeGreaterThan(t.from)
        // inside the window
        expect(t.from).toBeGreaterThanOrEqual(target.window.from)
        expect(t.to).toBeLessThanOrEqual(target.window.to)
        // never overlapping coverage
        for (const c of held) expect(intersectRange(t, c)).toBeUndefined()
        // day-aligned, at most one chunk long, on one side of the hot boundary
        expect(t.from % DAY_MS).toBe(0)
        expect(t.to % DAY_MS).toBe(0)
        const chunk = s.chunks[t.interval === "" ? "events" : t.interval] * DAY_MS
        expect(t.to - t.from).toBeLessThanOrEqual(chunk)
        expect(t.tier).toBe(t.from >= target.hotFrom ? "hot" : "cold")
        if (t.tier === "cold") expect(t.to).toBeLessThanOrEqual(target.hotFrom)
      }
      // pairwise disjoint
      const merged = mergeRanges(mine)
      expect(rangeLength(merged)).toBe(rangeLength(mine))
      // tasks ∪ (coverage ∩ window) = window, exactly
      const inWindow = held.map((c) => intersectRange(c, target.window)).filter((r): r is Range => r !== undefined)
      expect(mergeRanges([...mine, ...inWindow])).toEqual([target.window])
      expect(subtractRanges(target.window, [...mine, ...inWindow])).toEqual([])
    }
  })

  test.prop([scenario])("the window ends with the event day and is as long as the policy says", (s) => {
    const end = Math.floor(s.at / DAY_MS) * DAY_MS + DAY_MS
    for (const t of owedTargets(s.policy, s.layer, s.dataTypes, s.at)) {
      expect(t.window.to).toBe(end)
      const days = s.dataTypes.flatMap((dt) => {
        const p = s.policy[`L${s.layer}`][dt]
        if (!p) return []
        const hot = typeof p.hot_days === "number" ? p.hot_days
          : t.interval === "" ? Math.max(0, ...Object.values(p.hot_days).map(Number)) : (p.hot_days[t.interval] ?? 0)
        return t.dataTypes.includes(dt) ? [Math.max(hot, p.cold_days)] : []
      })
      expect((t.window.to - t.window.from) / DAY_MS).toBe(Math.max(...days))
      expect(t.hotFrom).toBeGreaterThanOrEqual(t.window.from)
      expect(t.hotFrom).toBeLessThanOrEqual(t.window.to)
    }
  })

  test.prop([fc.array(fc.record({ layer: layerArb, at: atArb }), { minLength: 1, maxLength: 6 }), chunkArb])(
    "higher layers first", (cmds, chunks) => {
      const tasks = planMany(
        cmds.map((c, i) => ({ symbol: `S${i}`, layer: c.layer, dataTypes: [...DATA_TYPES], at: c.at, priority: c.layer })),
        DEFAULTS.retention, () => new Map(), chunks
      )
      for (let i = 1; i < tasks.length; i++) expect(tasks[i - 1]!.priority).toBeGreaterThanOrEqual(tasks[i]!.priority)
    }
  )

  test.prop([scenario])("re-planning with the fetched tasks as coverage leaves nothing to do", (s) => {
    const cmd = { symbol: "AAPL", layer: s.layer, dataTypes: s.dataTypes, at: s.at, priority: 0 }
    const tasks = plan(cmd, s.policy, s.coverage, s.chunks)
    const after = new Map(s.coverage)
    for (const t of tasks) {
      const key = coverageKey(t.kind, t.interval)
      after.set(key, [...(after.get(key) ?? []), { from: t.from, to: t.to }])
    }
    expect(plan(cmd, s.policy, after, s.chunks)).toEqual([])
  })

  it("joins market_data and intraday bars of one interval, widest window and hot part winning", () => {
    const at = Date.UTC(2026, 0, 7, 15)
    const targets = owedTargets(DEFAULTS.retention, 2, ["market_data", "intraday"], at)
    const fiveMin = targets.find((t) => t.interval === "5min")!
    const end = Date.UTC(2026, 0, 8)
    expect(fiveMin.dataTypes).toEqual(["market_data", "intraday"])
    expect(fiveMin.window).toEqual({ from: end - 730 * DAY_MS, to: end })
    expect(fiveMin.hotFrom).toBe(end - 60 * DAY_MS)
    expect(targets.map((t) => t.interval).sort()).toEqual(["1day", "1hour", "1min", "5min"])
  })

  it("a demotion shrinks what is still owed; manual commands keep their layer", () => {
    expect(effectiveLayer(3, 1, false)).toBe(1)
    expect(effectiveLayer(3, 0, false)).toBe(0)
    expect(effectiveLayer(2, 3, false)).toBe(2)
    expect(effectiveLayer(3, 0, true)).toBe(3)
    expect(effectiveLayer(2, undefined, false)).toBe(2)
    const at = Date.UTC(2026, 0, 7)
    const chunks = DEFAULTS.backfill.chunk_days
    const l3 = plan({ symbol: "X", layer: 3, dataTypes: [...DATA_TYPES], at, priority: 3 }, DEFAULTS.retention, new Map(), chunks)
    const l1 = plan({ symbol: "X", layer: 1, dataTypes: [...DATA_TYPES], at, priority: 3 }, DEFAULTS.retention, new Map(), chunks)
    expect(l1.length).toBeLessThan(l3.length)
    expect(l1.some((t) => t.kind === "social_sentiment")).toBe(false)
  })
})
