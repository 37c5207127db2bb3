/**
 * Rendezvous assignment: one owner per partition among the members, little movement when
 * a member joins or leaves, and the same answer for the same members in any order.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { assignPartitions, partitionsOf, rendezvousWeight } from "../../src/engine/rendezvous.ts"

const arbMembers = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 24 }), { minLength: 1, maxLength: 10 })
const arbCount = fc.integer({ min: 1, max: 256 })

/** A binomial count's mean plus or minus five standard deviations, and two for small counts. */
const near = (n: number, p: number) => {
  const mean = n * p
  const slack = 5 * Math.sqrt(n * p * (1 - p)) + 2
  return { low: mean - slack, high: mean + slack }
}

describe("rendezvous assignment", () => {
  it("weights a member and a partition by the documented SHA-256 prefix", () => {
    // python3: int.from_bytes(hashlib.sha256(b"engine-a\n0").digest()[:8], "big")
    expect(rendezvousWeight("engine-a", 0)).toBe(0xf86b5728bebc523dn)
  })

  it("refuses an empty member list", () => {
    expect(() => assignPartitions([], 24)).toThrow(/no members/)
  })

  test.prop([arbMembers, arbCount], { seed: 4301, numRuns: 60 })(
    "gives every partition exactly one owner among the members",
    (members, count) => {
      const owners = assignPartitions(members, count)
      expect(owners.length).toBe(count)
      const ids = new Set(members)
      expect(owners.every((o) => ids.has(o))).toBe(true)
      const owned = members.flatMap((m) => partitionsOf(m, members, count))
      expect(owned.sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, p) => p))
    }
  )

  test.prop([arbMembers, arbCount, fc.integer({ min: 0, max: 2 ** 31 - 1 })], { seed: 4302, numRuns: 100 })(
    "is the same for the same members, whatever their order or repeats",
    (members, count, seed) => {
      const shuffled = fc.sample(fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length }), { seed, numRuns: 1 })[0] ?? []
      expect(assignPartitions([...shuffled, ...members.slice(0, 2)], count)).toEqual(assignPartitions(members, count))
    }
  )

  test.prop([arbMembers, fc.string({ minLength: 1, maxLength: 24 }), fc.integer({ min: 64, max: 256 })], { seed: 4303, numRuns: 100 })(
    "moves only partitions to a member that joins, about count / (members + 1) of them",
    (members, joiner, count) => {
      fc.pre(!members.includes(joiner))
      const before = assignPartitions(members, count)
      const after = assignPartitions([...members, joiner], count)
      const moved = before.flatMap((o, p) => (after[p] !== o ? [p] : []))
      for (const p of moved) expect(after[p]).toBe(joiner)
      const { low, high } = near(count, 1 / (members.length + 1))
      expect(moved.length).toBeGreaterThanOrEqual(low)
      expect(moved.length).toBeLessThanOrEqual(high)
    }
  )

  test.prop([arbMembers.filter((m) => m.length >= 2), fc.nat(), arbCount], { seed: 4304, numRuns: 100 })(
    "moves only the partitions of a member that leaves",
    (members, pick, count) => {
      const leaver = members[pick % members.length] as string
      const before = assignPartitions(members, count)
      const after = assignPartitions(members.filter((m) => m !== leaver), count)
      before.forEach((o, p) => {
        if (o === leaver) expect(after[p]).not.toBe(leaver)
        else expect(after[p]).toBe(o)
      })
    }
  )
})
