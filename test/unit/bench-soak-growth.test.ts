/**
 * The soak's growth figures: the least-squares line through the samples after the warm-up
 * recovers a steady climb exactly, says flat for a level that only moves in steps around
 * it (a heap's collections), and ignores the samples before the warm-up ends.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fittedGrowthAfter, growthAfter, type SoakSample } from "../../bench/scenarios/soak.ts"

const sample = (tS: number, v: number): SoakSample => ({ tS, usedMemory: v, rss: v, scoresLength: 0, lag: 0, sent: 0, archived: 0 })
const pick = (s: SoakSample) => s.usedMemory

describe("soak growth", () => {
  it("recovers the growth of a steady climb", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 1000 }), fc.integer({ min: -100, max: 100 }), fc.integer({ min: 3, max: 100 }), fc.integer({ min: 0, max: 50 }),
      (level, perSample, n, warm) => {
        const samples = Array.from({ length: n + warm }, (_, i) => sample(i * 10, i < warm ? 0 : level * 1000 + perSample * (i - warm)))
        const g = fittedGrowthAfter(samples, warm * 10, pick)
        expect(g.growth).toBeCloseTo((perSample * (n - 1)) / (level * 1000), 9)
      }
    ), { seed: 11, numRuns: 300 })
  })

  it("says flat for a level that moves in steps around it, where two samples need not", () => {
    // A sawtooth: the heap fills for nine samples and is collected on the tenth.
    const samples = Array.from({ length: 60 }, (_, i) => sample(i * 10, 400 + (i % 10) * 5))
    expect(Math.abs(fittedGrowthAfter(samples, 0, pick).growth)).toBeLessThan(0.05)
    expect(Math.abs(growthAfter(samples, 0, pick).growth)).toBeGreaterThan(0.05)
  })

  it("has no growth with fewer than two samples after the warm-up", () => {
    expect(fittedGrowthAfter([sample(0, 10), sample(10, 20)], 10, pick).growth).toBe(0)
  })
})
