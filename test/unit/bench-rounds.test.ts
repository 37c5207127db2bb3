/**
 * The bench's rounds (bench/lib/rounds.ts): each order runs every variant once per round,
 * in the order it names, and the best run of each variant is kept, the earlier on a tie.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { alternating, bestOfRounds, given, turning } from "../../bench/lib/rounds.ts"

describe("bench rounds", () => {
  it("runs every variant once a round, in each order's sequence", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer(), { minLength: 1, maxLength: 6 }), fc.nat(20), (variants, round) => {
      for (const order of [given, turning, alternating]) expect([...order(round, variants)].sort()).toEqual([...variants].sort())
      expect(given(round, variants)).toEqual(variants)
      expect(turning(round, variants)[0]).toBe(variants[round % variants.length])
      expect(alternating(round, variants)).toEqual(round % 2 === 0 ? variants : [...variants].reverse())
    }), { seed: 20261202 })
  })

  it("keeps every run in order and the best of each variant, the earlier on a tie", async () => {
    const scores: Record<string, number[]> = { a: [3, 5, 5], b: [4, 4, 1] }
    const calls: string[] = []
    const { best, runs } = await bestOfRounds({
      rounds: 3, variants: ["a", "b"], order: turning,
      run: async (v, round) => {
        calls.push(`${v}${round}`)
        return { v, round, score: scores[v]![round]! }
      },
      better: (x, y) => x.score > y.score
    })
    expect(calls).toEqual(["a0", "b0", "b1", "a1", "a2", "b2"])
    expect(runs.get("a")!.map((r) => r.score)).toEqual([3, 5, 5])
    expect(best.get("a")).toMatchObject({ score: 5, round: 1 })
    expect(best.get("b")).toMatchObject({ score: 4, round: 0 })
  })
})
