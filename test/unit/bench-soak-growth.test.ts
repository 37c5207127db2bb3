/**
 * The soak's growth figures: the least-squares line through the samples after the warm-up
 * recovers a steady climb exactly, says flat for a level that only moves in steps around
 * it (a heap's collections), and ignores the samples before the warm-up ends; the line
 * through each window's floor of one heap stays flat under long swings, and still sees a
 * floor that climbs; the warm-up ends where the run's actors and
 * keys are all there and each heap has been collected, measured from the samples.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fittedGrowthAfter, floorGrowthAfter, growthAfter, warmUpEnd, type SoakSample } from "../../bench/lib/soak-growth.ts"

const sample = (tS: number, v: number, extra: Partial<SoakSample> = {}): SoakSample =>
  ({ tS, usedMemory: v, rss: v, scoresLength: 0, lag: 0, sent: 0, archived: 0, ...extra })
const pick = (s: SoakSample) => s.usedMemory

/** A heap filling for `period` samples of 10 s and then collected, on a floor that rises `perSample`. */
const heap = (n: number, period: number, perSample: number, phase: number) =>
  Array.from({ length: n }, (_, i) => sample(i * 10, 400 + perSample * i + ((i + phase) % period) * 25))

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

  it("keeps a heap's floor flat under long swings, at any phase", () => {
    // 57 samples (a 10-minute soak after its warm-up), collected every 11 samples: swings of 250 on 400.
    for (let phase = 0; phase < 11; phase++) {
      expect(Math.abs(floorGrowthAfter(heap(57, 11, 0, phase), 0, 120, pick).growth)).toBeLessThan(0.01)
    }
  })

  it("sees a heap's floor that climbs under the same swings", () => {
    // 1 MB a sample on a 400 MB floor: +14% over the run, and over the goal between the first floor and the last.
    for (let phase = 0; phase < 11; phase++) {
      expect(floorGrowthAfter(heap(57, 11, 1, phase), 0, 120, pick).growth).toBeGreaterThan(0.05)
    }
  })

  it("ends the warm-up where every actor and every key is there for good, not before the earliest", () => {
    const at = (tS: number, snapshots: number, keys: number) => sample(tS, 1, { snapshots, keys, gcMain: tS === 0 ? 2 : 3, gcArchive: tS === 0 ? 0 : 1 })
    const run = [at(0, 0, 5), at(10, 1900, 10), at(20, 2000, 11), at(30, 1999, 12), at(40, 2000, 12), at(50, 2000, 12), at(60, 2000, 12)]
    expect(warmUpEnd(run, 30, 2000)).toBe(40)
    expect(warmUpEnd(run, 50, 2000)).toBe(50)
    // A key that appears late moves the end to it.
    expect(warmUpEnd([...run, at(70, 2000, 13)], 30, 2000)).toBe(70)
    // Never every actor: no end, the figure says the warm-up never settled.
    expect(warmUpEnd([at(0, 0, 5), at(10, 1999, 12), at(20, 1999, 12)], 0, 2000)).toBeUndefined()
    expect(warmUpEnd(run, 70, 2000)).toBeUndefined()
    // The archive thread's heap not yet collected at 40 s: the warm-up goes on to its first collection.
    const gc = run.map((s) => ({ ...s, gcArchive: s.tS < 50 ? 0 : 1 }))
    expect(warmUpEnd(gc, 30, 2000)).toBe(50)
    // Full collections of the start-up (before the first sample) do not count.
    expect(warmUpEnd(run.map((s) => ({ ...s, gcMain: 2 })), 0, 2000)).toBeUndefined()
    // A heap never reported: not known to have settled.
    expect(warmUpEnd(run.map(({ gcArchive: _, ...s }) => s), 0, 2000)).toBeUndefined()
  })
})
