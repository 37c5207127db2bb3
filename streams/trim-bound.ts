/**
 * How far a stream may be trimmed, as a pure function: from the positions of every
 * consumer group of the stream (the engine's and any user's), the retention to keep and,
 * for the scores streams, the archive's mark, the MINID below which every entry may go.
 *
 * An entry may be removed only when every rule agrees:
 *   - every group has read it (its ID is at or below the group's last-delivered-id) and
 *     none still holds it pending (its ID is below the group's oldest pending ID);
 *   - a group the stream's own reader needs (the engine's group on scores, ...) exists:
 *     until it does, nobody has read anything, so nothing goes;
 *   - it is older than `keep.age` of entry time, measured from the newest entry's ID
 *     (not the wall clock: an idle stream keeps its last stretch, and a replayed stream
 *     with old IDs is judged by its own time);
 *   - at least `keep.count` newer entries remain;
 *   - when the archive bounds the stream, its ID is at or below the archive mark (no mark
 *     yet: nothing goes).
 * The bound is the smallest of the rules' bounds, so XTRIM MINID with it removes exactly
 * the entries every rule allows. Reads nothing and trims nothing: trim.ts does both, and
 * its script checks the groups again at the moment of trimming.
 */
import { compareEntryIds, entryIdMs } from "../src/domain/time.ts"

export interface GroupPosition {
  readonly name: string
  /** The group's last-delivered-id (XINFO GROUPS). */
  readonly lastDeliveredId: string
  /** The smallest ID in the group's pending list (XPENDING summary); undefined when nothing is pending. */
  readonly oldestPendingId: string | undefined
}

export interface Keep {
  /** Entry time to keep, ms, counted back from the newest entry's ID. */
  readonly ageMs?: number | undefined
  /** Newest entries to keep (0: no count rule). */
  readonly count?: number | undefined
}

export interface TrimInputs {
  readonly groups: readonly GroupPosition[]
  /** Groups that must exist before anything is trimmed (the stream's own reader). */
  readonly requiredGroups: readonly string[]
  readonly keep: Keep
  /** Oldest and newest entry IDs held; undefined for an empty or absent stream. */
  readonly oldestId: string | undefined
  readonly newestId: string | undefined
  /**
   * The ID of the `keep.count`-th newest entry (the oldest one the count keeps), or
   * undefined when the stream holds no more than `keep.count` entries.
   */
  readonly countFloorId: string | undefined
  /** Whether the archive mark bounds this stream, and the mark (undefined: none yet). */
  readonly archive: { readonly bounds: false } | { readonly bounds: true; readonly markId: string | undefined }
}

/** Which rule set the bound: a group (read or pending), the retention, or the archive. */
export type BoundBy = `group ${string} (unread)` | `group ${string} (pending)` | "age" | "count" | "archive"

export type TrimBound =
  /** Remove every entry below `minId`; `removable` says whether any held entry is below it. */
  | { readonly trim: true; readonly minId: string; readonly by: BoundBy }
  /** Nothing may go, and why. */
  | { readonly trim: false; readonly reason: string }

const MAX_SEQ = 18446744073709551615n

/** The smallest ID greater than `id` (the next sequence, or the next millisecond's first). */
export const nextEntryId = (id: string): string => {
  const [ms = "0", seq = "0"] = id.split("-")
  return BigInt(seq) >= MAX_SEQ ? `${BigInt(ms) + 1n}-0` : `${ms}-${BigInt(seq) + 1n}`
}

/**
 * A count floor read on an earlier pass (the `keep.count`-th newest entry then) and the
 * stream's `entries-added` at that reading (XINFO STREAM, Redis 7).
 */
export interface CountFloor {
  readonly id: string
  readonly entriesAdded: number
}

/** What XINFO STREAM says now, for judging an earlier count floor. */
export interface StreamCounters {
  readonly oldestId: string | undefined
  /** undefined before Redis 7 (no such field): an earlier floor is then never trusted. */
  readonly entriesAdded: number | undefined
  /** The greatest ID ever removed by XDEL (XINFO STREAM `max-deleted-entry-id`, Redis 7). */
  readonly maxDeletedId: string | undefined
}

/**
 * Whether at least `keep.count` entries still lie at or above an earlier count floor: they
 * did when it was read, entries are only ever added after the newest, and trimming (XTRIM,
 * XADD with MAXLEN/MINID, by anyone) only removes the oldest. So they still do unless an entry
 * at or above it was deleted by ID (XDEL moves `max-deleted-entry-id` up to it), the floor
 * itself was trimmed away (the oldest entry is past it), or the key was made anew
 * (`entries-added` went back). Then the floor is a safe stand-in for the current one, which
 * can only be at or above it.
 */
export const floorStillHolds = (floor: CountFloor, now: StreamCounters): boolean =>
  now.oldestId !== undefined && now.entriesAdded !== undefined && now.maxDeletedId !== undefined &&
  compareEntryIds(now.oldestId, floor.id) <= 0 &&
  compareEntryIds(now.maxDeletedId, floor.id) < 0 &&
  now.entriesAdded >= floor.entriesAdded

export const trimBound = (i: TrimInputs): TrimBound => {
  if (i.oldestId === undefined || i.newestId === undefined) return { trim: false, reason: "empty" }
  const names = new Set(i.groups.map((g) => g.name))
  const missing = i.requiredGroups.filter((g) => !names.has(g))
  if (missing.length > 0) return { trim: false, reason: `group ${missing.join(", ")} does not exist yet` }
  const bounds: { id: string; by: BoundBy }[] = []
  for (const g of i.groups) {
    bounds.push({ id: nextEntryId(g.lastDeliveredId), by: `group ${g.name} (unread)` })
    if (g.oldestPendingId !== undefined) bounds.push({ id: g.oldestPendingId, by: `group ${g.name} (pending)` })
  }
  if (i.keep.ageMs !== undefined) bounds.push({ id: `${Math.max(0, entryIdMs(i.newestId) - i.keep.ageMs)}-0`, by: "age" })
  if (i.keep.count !== undefined && i.keep.count > 0) {
    if (i.countFloorId === undefined) return { trim: false, reason: `no more than ${i.keep.count} entries held` }
    bounds.push({ id: i.countFloorId, by: "count" })
  }
  if (i.archive.bounds) {
    if (i.archive.markId === undefined) return { trim: false, reason: "nothing archived yet" }
    bounds.push({ id: nextEntryId(i.archive.markId), by: "archive" })
  }
  // A stream no group reads and no retention bounds would be emptied: keep that a decision
  // of the caller's (a count or age of 0), never a default.
  if (bounds.length === 0) return { trim: false, reason: "no bound (no group, no retention)" }
  let min = bounds[0]!
  for (const b of bounds) if (compareEntryIds(b.id, min.id) < 0) min = b
  if (compareEntryIds(min.id, i.oldestId) <= 0) return { trim: false, reason: `held by ${min.by}` }
  return { trim: true, minId: min.id, by: min.by }
}
