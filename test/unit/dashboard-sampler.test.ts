/**
 * The dashboard's sampling logic without I/O: the ring buffer stays bounded and ordered,
 * the reservoir keeps a bounded sample, quantiles by nearest rank, rates between two
 * readings (a reset counter gives no rate, not a negative one), the window's columns,
 * reason classes and the backfill ETA.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { reasonClass, type Reading } from "../../src/http/figures.ts"
import { etaMs } from "../../src/http/overview.ts"
import { Reservoir, Ring, quantile } from "../../src/http/ring.ts"
import { Sampler, pointOf, toSeries } from "../../src/http/sampler.ts"

const reading = (over: Partial<Reading> = {}): Reading => ({
  stats: {}, layers: [0, 0, 0, 0], backlog: {}, backfill: undefined, transitionsTo: [0, 0, 0, 0], deadByReason: {}, ...over
})

describe("dashboard sampler", () => {
  test.prop([fc.integer({ min: 1, max: 50 }), fc.array(fc.integer(), { maxLength: 200 })])(
    "a ring keeps the last `capacity` items, oldest first",
    (capacity, items) => {
      const ring = new Ring<number>(capacity)
      for (const i of items) ring.push(i)
      expect(ring.toArray()).toEqual(items.slice(-capacity))
      expect(ring.size).toBe(Math.min(capacity, items.length))
      expect(ring.last()).toBe(items[items.length - 1])
    }
  )

  test.prop([fc.integer({ min: 1, max: 64 }), fc.array(fc.double({ noNaN: true }), { maxLength: 500 })])(
    "a reservoir holds at most its capacity, drawn from what was offered, and empties on drain",
    (capacity, values) => {
      const r = new Reservoir(capacity, 7)
      for (const v of values) r.offer(v)
      const { sorted, seen } = r.drain()
      expect(seen).toBe(values.length)
      expect(sorted.length).toBe(Math.min(capacity, values.length))
      for (const v of sorted) expect(values).toContain(v)
      expect(r.drain()).toEqual({ sorted: [], seen: 0 })
    }
  )

  it("quantiles by nearest rank, none of an empty interval", () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(quantile(v, 0.5)).toBe(50)
    expect(quantile(v, 0.99)).toBe(99)
    expect(quantile([7], 0.99)).toBe(7)
    expect(quantile([], 0.5)).toBeUndefined()
  })

  it("turns two readings into rates; a counter that went down gives no rate", () => {
    const prev = reading({ stats: { entries: 100 }, backfill: { written: 1000, requests: 10 } })
    const cur = reading({ stats: { entries: 300 }, backfill: { written: 5000, requests: 14 }, transitionsTo: [0, 4, 2, 0], deadByReason: { "scores: missing symbol": 2 } })
    const p = pointOf(10_000, 2_000, prev, cur, { p50: 3, p99: 9 })
    expect(p).toMatchObject({ ingestPerS: 100, backfillRowsPerS: 2000, providerRequestsPerS: 2, commitP50: 3, commitP99: 9, deadCount: 2 })
    expect(p.transitionsPerMin).toEqual([0, 120, 60, 0])
    expect(p.deadPerMin).toEqual({ "scores: missing symbol": 60 })
    const reset = pointOf(12_000, 2_000, cur, reading({ stats: { entries: 5 } }), { p50: undefined, p99: undefined })
    expect(reset.ingestPerS).toBeNull()
    expect(reset.backfillRowsPerS).toBeNull()
    expect(reset.commitP50).toBeNull()
  })

  it("fills a series that appears later with zeros before it", () => {
    const a = pointOf(1, 1000, reading(), reading(), { p50: undefined, p99: undefined })
    const b = pointOf(2, 1000, reading(), reading({ deadByReason: { "scores: empty symbol": 1 } }), { p50: 1, p99: 1 })
    const s = toSeries([a, b], { intervalMs: 1000, windowMs: 60_000, rateLimitPerS: null })
    expect(s.t).toEqual([1, 2])
    expect(s.deadPerMin).toEqual({ "scores: empty symbol": [0, 60] })
    expect(s.deadInWindow).toBe(1)
    expect(s.layers["L1"]).toEqual([0, 0])
  })

  it("keeps at most window / interval points, each from consecutive readings", async () => {
    let now = 0
    let n = 0
    const sampler = new Sampler(async () => reading({ stats: { entries: (n += 10) } }), { intervalMs: 1000, windowMs: 5000, rateLimitPerS: 3, clock: () => now })
    for (let i = 0; i < 20; i++) { now += 1000; await sampler.sample() }
    const s = sampler.series()
    expect(s.t).toEqual([16_000, 17_000, 18_000, 19_000, 20_000])
    expect(s.ingestPerS).toEqual([10, 10, 10, 10, 10])
    expect(s.rateLimitPerS).toBe(3)
  })

  it("measures commit latency from the batch's oldest entry ID, per interval", async () => {
    let now = 5_000_000
    const sampler = new Sampler(async () => reading(), { intervalMs: 1000, windowMs: 10_000, rateLimitPerS: null, clock: () => now })
    // A commit before the first reading counts in the first point.
    sampler.observeCommit("4999990-0")
    await sampler.sample()
    sampler.observeCommit("4999900-3")
    // An ID not assigned on arrival (an old replayed stream) is left out.
    sampler.observeCommit("1-0")
    now += 1000
    await sampler.sample()
    expect(sampler.latest()).toMatchObject({ commitP50: 10, commitP99: 100 })
    now += 1000
    await sampler.sample()
    expect(sampler.latest()).toMatchObject({ commitP50: null, commitP99: null })
  })

  it("classes reasons by their leading words, so offending values do not make new series", () => {
    expect(reasonClass('invalid symbol "../x": expected ^[A-Z0-9]')).toBe("invalid symbol")
    expect(reasonClass("too many fields: 70 > 64")).toBe("too many fields")
    expect(reasonClass("")).toBe("unknown")
  })

  it("estimates a running command's remaining time at its pace so far", () => {
    expect(etaMs(10, 4, 0, 8_000)).toBe(12_000)
    expect(etaMs(10, 0, 0, 8_000)).toBeNull()
    expect(etaMs(10, 10, 0, 8_000)).toBeNull()
    expect(etaMs(10, 4, null, 8_000)).toBeNull()
  })
})
