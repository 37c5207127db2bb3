/**
 * The trim bound (fast-check, seeded): for any stream, any consumer groups (read
 * positions and pending lists), any retention and any archive mark, trimming below the
 * bound never removes an entry a group has not read or still holds pending, one the
 * retention keeps, or one above the mark; and it removes everything they all allow (the
 * first entry kept is kept by some rule).
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { compareEntryIds, entryIdMs } from "../../src/domain/time.ts"
import { floorStillHolds, nextEntryId, trimBound, type GroupPosition, type TrimInputs } from "../../streams/trim-bound.ts"

const T0 = Date.UTC(2026, 10, 2)

/** Strictly increasing entry IDs: ms steps of 0-3 (0 bumps the sequence). */
const arbIds = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 60 }).map((steps) => {
  const ids: string[] = []
  let ms = T0
  let seq = 0
  for (const s of steps) {
    if (s === 0 && ids.length > 0) seq++
    else { ms += s; seq = 0 }
    ids.push(`${ms}-${seq}`)
  }
  return ids
})

interface Scenario {
  readonly ids: readonly string[]
  /** Per group: how many entries delivered (its last-delivered index + 1) and which of them are pending. */
  readonly groups: readonly { name: string; delivered: number; pending: readonly number[] }[]
  readonly ageMs: number | undefined
  readonly count: number | undefined
  readonly mark: number | undefined | null
  readonly required: readonly string[]
}

const NAMES = ["strata-engine", "strata-projector", "strata-workers", "user-tool"]

/** An integer in [min, max], mostly within a few of `end`: groups close to the head, as in a live install, so most scenarios trim something. */
const near = (end: number, min: number, max: number) =>
  fc.oneof({ arbitrary: fc.integer({ min: Math.max(min, end - 4), max: Math.max(min, Math.min(max, end)) }), weight: 3 }, { arbitrary: fc.integer({ min, max }), weight: 1 })

const arbScenario: fc.Arbitrary<Scenario> = arbIds.chain((ids) => fc.record({
  ids: fc.constant(ids),
  groups: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }).chain((names) =>
    fc.tuple(...names.map((name) => near(ids.length, 0, ids.length).chain((delivered) => fc.record({
      name: fc.constant(name),
      delivered: fc.constant(delivered),
      pending: fc.uniqueArray(near(delivered - 1, 0, Math.max(0, delivered - 1)), { maxLength: delivered === 0 ? 0 : 2 })
    }))))),
  ageMs: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined, freq: 2 }),
  count: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined, freq: 2 }),
  // null: the archive does not bound the stream; undefined: it does and nothing is archived yet.
  mark: fc.oneof(
    { arbitrary: fc.constant(null), weight: 2 }, { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: near(ids.length - 3, -1, ids.length), weight: 3 }
  ),
  required: fc.constantFrom([], [], ["strata-engine"])
}))

const inputsOf = (s: Scenario): TrimInputs => {
  const groups: GroupPosition[] = s.groups.map((g) => ({
    name: g.name,
    // A group that has read nothing sits at 0-0 (created at the start) or just before the first entry.
    lastDeliveredId: g.delivered === 0 ? "0-0" : s.ids[g.delivered - 1]!,
    oldestPendingId: g.pending.length === 0 ? undefined : s.ids[Math.min(...g.pending)]
  }))
  const count = s.count
  return {
    groups, requiredGroups: s.required, keep: { ageMs: s.ageMs, count },
    oldestId: s.ids[0], newestId: s.ids.at(-1),
    countFloorId: count !== undefined && count > 0 && s.ids.length > count ? s.ids[s.ids.length - count] : undefined,
    archive: s.mark === null ? { bounds: false } : { bounds: true, markId: s.mark === undefined ? undefined : s.mark < 0 ? "0-0" : s.ids[Math.min(s.mark, s.ids.length - 1)] }
  }
}

/** Why entry `i` must stay, or undefined when every rule lets it go. */
const keptBy = (s: Scenario, inputs: TrimInputs, i: number): string | undefined => {
  const id = s.ids[i]!
  for (const g of s.groups) {
    if (i >= g.delivered) return `unread by ${g.name}`
    if (g.pending.includes(i)) return `pending in ${g.name}`
  }
  const names = new Set(s.groups.map((g) => g.name))
  if (s.required.some((r) => !names.has(r))) return "required group missing"
  if (s.ageMs !== undefined && entryIdMs(id) >= entryIdMs(s.ids.at(-1)!) - s.ageMs) return "age"
  if (s.count !== undefined && s.count > 0 && i >= s.ids.length - s.count) return "count"
  if (inputs.archive.bounds && (inputs.archive.markId === undefined || compareEntryIds(id, inputs.archive.markId) > 0)) return "archive"
  if (s.groups.length === 0 && s.ageMs === undefined && (s.count === undefined || s.count === 0) && !inputs.archive.bounds) return "no bound"
  return undefined
}

describe("trim bound", () => {
  test.prop([arbScenario], { seed: 20261102, numRuns: 5000 })(
    "removes exactly the entries every group, the retention and the archive are done with",
    (s) => {
      const inputs = inputsOf(s)
      const bound = trimBound(inputs)
      const removed = bound.trim ? s.ids.filter((id) => compareEntryIds(id, bound.minId) < 0) : []
      for (const [i] of removed.entries()) expect(keptBy(s, inputs, i), `entry ${s.ids[i]} removed`).toBeUndefined()
      // Nothing the rules allow is left behind: the first entry kept is kept by a rule.
      const firstKept = removed.length
      if (firstKept < s.ids.length) expect(keptBy(s, inputs, firstKept), `entry ${s.ids[firstKept]} could go`).toBeDefined()
    }
  )

  it("keeps everything while the stream's own group does not exist", () => {
    const b = trimBound({ groups: [], requiredGroups: ["strata-engine"], keep: { count: 1 }, oldestId: "1-0", newestId: "9-0", countFloorId: "9-0", archive: { bounds: false } })
    expect(b).toEqual({ trim: false, reason: "group strata-engine does not exist yet" })
  })

  it("keeps everything while nothing is archived", () => {
    const b = trimBound({ groups: [], requiredGroups: [], keep: { count: 1 }, oldestId: "1-0", newestId: "9-0", countFloorId: "9-0", archive: { bounds: true, markId: undefined } })
    expect(b).toEqual({ trim: false, reason: "nothing archived yet" })
  })

  it("steps past the largest sequence of a millisecond", () => {
    expect(nextEntryId("5-18446744073709551615")).toBe("6-0")
    expect(nextEntryId("5-7")).toBe("5-8")
  })
})

describe("floorStillHolds", () => {
  const floor = { id: "1000-5", entriesAdded: 40 }
  const now = { oldestId: "900-0", entriesAdded: 55, maxDeletedId: "0-0" }
  it("trusts an earlier floor while nothing at or above it was removed", () => {
    expect(floorStillHolds(floor, now)).toBe(true)
    // Trimmed up to the floor itself: it is still there.
    expect(floorStillHolds(floor, { ...now, oldestId: "1000-5" })).toBe(true)
    // Deleted by ID below it: the entries above it are all there.
    expect(floorStillHolds(floor, { ...now, maxDeletedId: "1000-4" })).toBe(true)
  })
  it("does not when an entry at or above it was deleted, the floor was trimmed away, the key was made anew or Redis says nothing", () => {
    expect(floorStillHolds(floor, { ...now, maxDeletedId: "1000-5" })).toBe(false)
    expect(floorStillHolds(floor, { ...now, maxDeletedId: "2000-0" })).toBe(false)
    expect(floorStillHolds(floor, { ...now, oldestId: "1000-6" })).toBe(false)
    expect(floorStillHolds(floor, { ...now, oldestId: undefined })).toBe(false)
    expect(floorStillHolds(floor, { ...now, entriesAdded: 39 })).toBe(false)
    expect(floorStillHolds(floor, { ...now, entriesAdded: undefined })).toBe(false)
    expect(floorStillHolds(floor, { ...now, maxDeletedId: undefined })).toBe(false)
  })
})
