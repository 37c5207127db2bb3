/**
 * The partition plan: one desired owner per partition among the counted members, little
 * movement when a member joins or leaves, engines started together settle once, and the
 * same answer for the same view in any order.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { countedMembers, planPartitions, releaseAllPlan, type Member } from "../../src/engine/partition-plan.ts"
import { assignPartitions } from "../../src/engine/rendezvous.ts"

const NOW = 1_764_619_787_123
const DEBOUNCE = 3000

const arbIds = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 16 }), { minLength: 1, maxLength: 8 })
const arbCount = fc.integer({ min: 1, max: 64 })
/** A member joined this long before now: settled from DEBOUNCE on. */
const arbAge = fc.integer({ min: 0, max: 3 * DEBOUNCE })
/** Members with an age and whether Redis marked them founding. */
const arbView = arbIds.chain((ids) => fc.tuple(fc.constant(ids), fc.array(fc.tuple(arbAge, fc.boolean()), { minLength: ids.length, maxLength: ids.length })))
const membersOf = ([ids, marks]: readonly [readonly string[], readonly (readonly [number, boolean])[]]): Member[] =>
  ids.map((id, i) => ({ id, sinceMs: NOW - (marks[i]?.[0] ?? 0), founding: marks[i]?.[1] ?? false }))
const counts = (m: Member) => m.founding || m.sinceMs + DEBOUNCE <= NOW

const plan = (self: string, members: readonly Member[], count: number, held: Iterable<number> = [], nowMs = NOW) =>
  planPartitions({ self, members, nowMs, count, debounceMs: DEBOUNCE, held })
const desiredOwners = (members: readonly Member[], count: number, nowMs = NOW): Map<number, string[]> => {
  const owners = new Map<number, string[]>()
  for (const m of members) for (const p of plan(m.id, members, count, [], nowMs).desired) owners.set(p, [...(owners.get(p) ?? []), m.id])
  return new Map([...owners].sort(([a], [b]) => a - b))
}
const all = (count: number) => Array.from({ length: count }, (_, p) => p)

describe("partition plan", () => {
  test.prop([arbView, arbCount], { seed: 5101, numRuns: 150 })(
    "gives every partition exactly one desired owner, a counted member",
    (view, count) => {
      const members = membersOf(view)
      const counted = new Set(countedMembers(members, NOW, DEBOUNCE))
      expect(counted.size).toBeGreaterThan(0)
      const owners = desiredOwners(members, count)
      expect([...owners.keys()].sort((a, b) => a - b)).toEqual(all(count))
      for (const ids of owners.values()) {
        expect(ids.length).toBe(1)
        expect(counted.has(ids[0] as string)).toBe(true)
      }
    }
  )

  test.prop([arbView, arbCount, fc.string({ minLength: 1, maxLength: 16 }), fc.integer({ min: DEBOUNCE, max: 3 * DEBOUNCE })], { seed: 5102, numRuns: 150 })(
    "moves only partitions to a settled member that joins",
    (view, count, joiner, age) => {
      fc.pre(!view[0].includes(joiner))
      const before = membersOf(view)
      // With nobody counted everyone counts; a counted joiner would then take all.
      fc.pre(before.some(counts))
      const after = [...before, { id: joiner, sinceMs: NOW - age, founding: false }]
      const was = desiredOwners(before, count)
      const now = desiredOwners(after, count)
      for (const p of all(count)) if (now.get(p)?.[0] !== was.get(p)?.[0]) expect(now.get(p)).toEqual([joiner])
    }
  )

  test.prop([arbView, arbCount, fc.string({ minLength: 1, maxLength: 16 }), fc.integer({ min: 0, max: DEBOUNCE - 1 })], { seed: 5103, numRuns: 150 })(
    "moves nothing for a member still joining an install with a settled member",
    (view, count, joiner, age) => {
      fc.pre(!view[0].includes(joiner))
      const before = membersOf(view)
      fc.pre(before.some(counts))
      const after = [...before, { id: joiner, sinceMs: NOW - age, founding: false }]
      expect(desiredOwners(after, count)).toEqual(desiredOwners(before, count))
      expect(plan(joiner, after, count).desired).toEqual([])
    }
  )

  test.prop([arbView.filter(([ids]) => ids.length >= 2), fc.nat(), arbCount], { seed: 5104, numRuns: 150 })(
    "moves only the partitions of a member that leaves",
    (view, pick, count) => {
      const before = membersOf(view)
      const leaver = before[pick % before.length] as Member
      const after = before.filter((m) => m.id !== leaver.id)
      const was = desiredOwners(before, count)
      const now = desiredOwners(after, count)
      for (const p of all(count)) {
        const owner = was.get(p)?.[0]
        if (owner !== leaver.id) expect(now.get(p)).toEqual([owner])
      }
    }
  )

  test.prop([arbView, arbCount, fc.nat(), fc.subarray(all(64)), fc.integer({ min: 0, max: 2 ** 31 - 1 })], { seed: 5105, numRuns: 150 })(
    "is the same for the same view, whatever the order of members or held partitions",
    (view, count, pick, held, seed) => {
      const members = membersOf(view)
      const self = (members[pick % members.length] as Member).id
      const shuffle = <A>(xs: readonly A[]) => fc.sample(fc.shuffledSubarray([...xs], { minLength: xs.length, maxLength: xs.length }), { seed, numRuns: 1 })[0] ?? []
      const first = plan(self, members, count, held)
      expect(plan(self, shuffle(members), count, shuffle(held))).toEqual(first)
      expect(plan(self, [...members, ...members.slice(0, 1)], count, held)).toEqual(first)
    }
  )

  test.prop([arbView, arbCount, fc.nat(), fc.subarray(all(64))], { seed: 5106, numRuns: 150 })(
    "takes what it should hold and lacks, and releases only what another counted member should hold",
    (view, count, pick, held) => {
      const members = membersOf(view)
      const self = (members[pick % members.length] as Member).id
      const r = plan(self, members, count, held)
      const h = new Set(held)
      expect(r.take).toEqual(r.desired.filter((p) => !h.has(p)))
      expect(r.release).toEqual(held.filter((p) => !r.desired.includes(p)))
      const owners = assignPartitions(countedMembers(members, NOW, DEBOUNCE), count)
      for (const p of r.release) if (p < count) expect(owners[p]).not.toBe(self)
    }
  )

  test.prop([arbIds, arbCount, fc.array(fc.integer({ min: 0, max: DEBOUNCE - 1 }), { minLength: 8, maxLength: 8 })], { seed: 5107, numRuns: 40 })(
    "settles engines started together once: their shares do not change as each one settles",
    (ids, count, offsets) => {
      // Each engine's first heartbeat comes within the debounce of the first one's.
      const start = NOW - 10 * DEBOUNCE
      // Each joined while nobody was settled: the heartbeat script marks them founding.
      const members = ids.map((id, i) => ({ id, sinceMs: start + (offsets[i] ?? 0), founding: true }))
      const last = Math.max(...members.map((m) => m.sinceMs))
      const first = desiredOwners(members, count, last)
      for (let t = last; t <= last + 2 * DEBOUNCE; t += DEBOUNCE / 4) expect(desiredOwners(members, count, t)).toEqual(first)
      expect(new Set([...first.values()].flat())).toEqual(new Set(assignPartitions(ids, count)))
    }
  )

  it("counts everyone when nobody counts, so a view without marks still gives every partition an owner", () => {
    const members = [{ id: "a", sinceMs: NOW - 10, founding: false }, { id: "b", sinceMs: NOW, founding: false }]
    expect(countedMembers(members, NOW, DEBOUNCE)).toEqual(["a", "b"])
    expect(plan("b", members, 8).desired).toEqual(assignPartitions(["a", "b"], 8).flatMap((o, p) => (o === "b" ? [p] : [])))
  })

  it("gives a member that re-joined beside a settled one nothing, and has it give up what it held", () => {
    const members = [{ id: "a", sinceMs: NOW - 2 * DEBOUNCE, founding: true }, { id: "b", sinceMs: NOW - 5, founding: false }]
    expect(plan("b", members, 4, [1, 3])).toEqual({ take: [], release: [1, 3], desired: [] })
    // Once settled, b gets its rendezvous share again.
    expect(plan("b", members, 4, [], NOW + DEBOUNCE).desired).toEqual(assignPartitions(["a", "b"], 4).flatMap((o, p) => (o === "b" ? [p] : [])))
  })

  it("keeps what it holds when no member is known at all", () => {
    expect(plan("a", [], 4, [2])).toEqual({ take: [], release: [], desired: [] })
  })

  it("releases everything when membership may have lapsed", () => {
    expect(releaseAllPlan([3, 1, 3])).toEqual({ take: [], release: [1, 3], desired: [] })
  })
})
