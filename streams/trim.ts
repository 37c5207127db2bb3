/**
 * Trimming one stream in Redis: read what the bound needs (XINFO STREAM, XINFO GROUPS and
 * the XPENDING summary of every group, the N-th newest entry, the archive mark), compute
 * the bound (trim-bound.ts), and trim with a script that checks the groups and the mark
 * again in the same instant (lua/trim-guarded-3.lua), recording what it removed.
 * Also the figures an operator reads about a stream (length, oldest entry, archive lag,
 * last trim), one stream or a whole plan at a time. Does not choose streams or retention
 * (trim-plan.ts) nor schedule (the engine's trimming fiber, `strata trim`).
 *
 * Exact MINID trimming, not `~`: Redis frees whole nodes either way and edits at most one
 * more, so exactness costs one node's rewrite per pass and gives counts an operator can
 * check (a dead-letter cap holds to the entry). Redis 8.2's ACKED trimming is not used:
 * it does not honour retention or the archive mark, and the guard above gives the same
 * "only what every group is done with" on 7.x and 8.x alike.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import calculateSlot from "cluster-key-slot"
import { compareEntryIds, entryIdMs } from "../src/domain/time.ts"
import { floorStillHolds, nextEntryId, trimBound, type CountFloor, type GroupPosition, type Keep, type TrimBound } from "./trim-bound.ts"

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8")
const TRIM_GUARDED = lua("trim-guarded-3.lua")
const NTH_NEWEST = lua("nth-newest-1.lua")
const COUNT_AFTER = lua("count-after-1.lua")

export type WithTrim = Redis & {
  strataTrimGuarded(stream: string, mark: string, record: string, minId: string, archive: string, name: string, dead: string, givenMark: string, ...groups: string[]): Promise<[number, string]>
  strataNthNewest(stream: string, n: number): Promise<string | null>
  strataCountAfter(stream: string, after: string, cap: number): Promise<number>
}

/** The connection with the trim scripts defined on it (once per connection). */
export const trimCommands = (redis: Redis): WithTrim => define(redis)

function define(redis: Redis): WithTrim {
  if (!("strataTrimGuarded" in redis)) {
    redis.defineCommand("strataTrimGuarded", { numberOfKeys: 3, lua: TRIM_GUARDED })
    redis.defineCommand("strataNthNewest", { numberOfKeys: 1, lua: NTH_NEWEST })
    redis.defineCommand("strataCountAfter", { numberOfKeys: 1, lua: COUNT_AFTER })
  }
  return redis as WithTrim
}

/** One stream the engine trims, as its plan (trim-plan.ts) describes it. */
export interface TrimTarget {
  /** Its name in the trim record and in reports: scores, lifecycle, backfill, scores_dead, ... */
  readonly name: string
  readonly key: string
  readonly keep: Keep
  /** Groups that must exist before anything goes (the stream's own reader). */
  readonly requiredGroups: readonly string[]
  /** The archive mark's key when the archive bounds this stream. */
  readonly archiveMark: string | undefined
  /** Removals are dropped dead letters. */
  readonly dead: boolean
  /**
   * The hash where this stream's trims are recorded, when not the plan's: the record must
   * share the stream's Cluster slot (the script writes both), and the ingress dead-letter
   * stream is in another slot than the ingress stream's record.
   */
  readonly record?: string
}

export interface TrimPlan {
  readonly targets: readonly TrimTarget[]
  /** The hash where trims are recorded. */
  readonly record: string
}

/** The hash where a target's trims are recorded: its own, or its plan's. */
export const recordOf = (plan: TrimPlan, target: TrimTarget): string => target.record ?? plan.record

/** An XINFO reply row as a record (values keep their types; nil stays null). */
const infoRecord = (row: unknown[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < row.length; i += 2) out[String(row[i])] = row[i + 1]
  return out
}

const noSuchKey = (e: unknown) => String((e as Error).message).includes("no such key")

export interface StreamState {
  readonly length: number
  readonly oldestId: string | undefined
  readonly newestId: string | undefined
  /** XINFO STREAM's `entries-added` and `max-deleted-entry-id` (Redis 7; undefined before). */
  readonly entriesAdded: number | undefined
  readonly maxDeletedId: string | undefined
  readonly groups: readonly (GroupPosition & { readonly pending: number; readonly lag: number | null })[]
}

/** Length, end entries and every group's position; an absent stream is empty with no groups. */
export const readStreamState = async (redis: Redis, key: string): Promise<StreamState> => {
  let info: Record<string, unknown>
  try {
    info = infoRecord((await redis.xinfo("STREAM", key)) as unknown[])
  } catch (e) {
    if (noSuchKey(e)) return { length: 0, oldestId: undefined, newestId: undefined, entriesAdded: undefined, maxDeletedId: undefined, groups: [] }
    throw e
  }
  const entryId = (v: unknown) => (Array.isArray(v) ? String(v[0]) : undefined)
  const rows = ((await redis.xinfo("GROUPS", key)) as unknown[][]).map(infoRecord)
  const groups = await Promise.all(rows.map(async (g) => {
    const name = String(g["name"])
    const pending = Number(g["pending"] ?? 0)
    const summary = pending > 0 ? ((await redis.xpending(key, name)) as [number, string | null, string | null, unknown]) : undefined
    return {
      name, pending, lag: g["lag"] === null || g["lag"] === undefined ? null : Number(g["lag"]),
      lastDeliveredId: String(g["last-delivered-id"]),
      oldestPendingId: summary?.[1] ?? undefined
    }
  }))
  const added = info["entries-added"]
  const maxDeleted = info["max-deleted-entry-id"]
  return {
    length: Number(info["length"] ?? 0), oldestId: entryId(info["first-entry"]), newestId: entryId(info["last-entry"]),
    entriesAdded: added === undefined || added === null ? undefined : Number(added),
    maxDeletedId: maxDeleted === undefined || maxDeleted === null ? undefined : String(maxDeleted),
    groups
  }
}

export interface TrimOutcome {
  readonly name: string
  readonly key: string
  readonly lengthBefore: number
  readonly bound: TrimBound
  /** Entries removed (0 in a dry run). */
  readonly removed: number
  /** Set when the script's own check refused the bound (a group or the mark moved back meanwhile). */
  readonly refused?: string
}

/**
 * Count floors read on earlier passes, by stream key: a trimming loop keeps one across its
 * passes (streams/trim.ts reads a floor anew only when it could matter).
 */
export type CountFloors = Map<string, CountFloor>

/**
 * The `keep.count`-th newest entry's ID, or undefined when the stream holds no more. Reading
 * it walks `keep.count` entries inside Redis (the one costly read of a pass: ~10 ms of
 * Redis per 1,000 entries on a busy 2-core machine, all other commands waiting), so it is
 * skipped when it cannot change the bound: when the other rules hold everything anyway, or
 * when their bound is at or below a floor of an earlier pass that still holds (trim-bound.ts
 * floorStillHolds), since the current floor is at or above that one.
 */
const countFloor = async (redis: Redis, target: TrimTarget, state: StreamState, othersMinId: string, floors: CountFloors | undefined): Promise<string | undefined> => {
  const known = floors?.get(target.key)
  if (known && floorStillHolds(known, state) && compareEntryIds(othersMinId, known.id) <= 0) return known.id
  const id = (await define(redis).strataNthNewest(target.key, target.keep.count ?? 0)) ?? undefined
  if (id !== undefined && state.entriesAdded !== undefined) floors?.set(target.key, { id, entriesAdded: state.entriesAdded })
  else floors?.delete(target.key)
  return id
}

/**
 * Compute the bound of one stream and, unless `dryRun`, trim it under the script's check.
 * `floors`: count floors of earlier passes, kept by the caller across passes (optional).
 */
export const trimStream = async (redis: Redis, target: TrimTarget, recordKey: string, dryRun = false, floors?: CountFloors): Promise<TrimOutcome> => {
  const state = await readStreamState(redis, target.key)
  const markId = target.archiveMark === undefined ? undefined : (await redis.get(target.archiveMark)) ?? undefined
  const inputs = (keep: Keep, countFloorId: string | undefined) => ({
    groups: state.groups, requiredGroups: target.requiredGroups, keep,
    oldestId: state.oldestId, newestId: state.newestId, countFloorId,
    archive: target.archiveMark === undefined ? { bounds: false as const } : { bounds: true as const, markId }
  })
  const count = target.keep.count ?? 0
  let bound: TrimBound
  if (count === 0 || state.length <= count || state.newestId === undefined) bound = trimBound(inputs(target.keep, undefined))
  else {
    // Every other rule first, the count's floor put past the newest entry: the floor is read
    // only when it can lower their bound.
    const others = trimBound(inputs(target.keep, nextEntryId(state.newestId)))
    bound = others.trim ? trimBound(inputs(target.keep, await countFloor(redis, target, state, others.minId, floors))) : others
  }
  const base = { name: target.name, key: target.key, lengthBefore: state.length, bound }
  if (!bound.trim || dryRun) return { ...base, removed: 0 }
  const t = await trimBelow(redis, target, recordKey, bound.minId)
  return t.refused === undefined ? { ...base, removed: t.removed } : { ...base, removed: 0, refused: t.refused }
}

/**
 * Remove the entries below `minId`, unless the script's check finds a group (or the
 * archive mark) that still needs one of them now: then nothing is removed and `refused`
 * says what held it.
 */
export const trimBelow = async (
  redis: Redis, target: TrimTarget, recordKey: string, minId: string
): Promise<{ readonly removed: number; readonly refused?: string }> => {
  // A mark in the stream's slot is read inside the script. One in another slot (the ingress
  // dead letters' mark, in the ingress stream's slot, on a Cluster) is read here and given
  // by value: a mark only moves forward (archive-mark-2.lua), so a reading taken before
  // the script is at most the mark at the script's instant, and the check stays on the
  // safe side.
  const mark = target.archiveMark
  const apart = mark !== undefined && calculateSlot(mark) !== calculateSlot(target.key)
  const given = apart ? (await redis.get(mark)) ?? "" : ""
  const [removed, refusal] = await define(redis).strataTrimGuarded(
    target.key, apart || mark === undefined ? target.key : mark, recordKey, minId, mark === undefined ? "0" : apart ? "2" : "1",
    target.name, target.dead ? "1" : "0", given, ...target.requiredGroups
  )
  return refusal === "" ? { removed: Number(removed) } : { removed: 0, refused: refusal }
}

/**
 * Trim every stream once (or, with `dryRun`, say what would go). Streams are trimmed one
 * after another; one stream's failure is reported in its row and does not stop the rest.
 * A loop passes the same `floors` to every pass.
 */
export const trimPass = async (
  redis: Redis, plan: TrimPlan, dryRun = false, floors?: CountFloors
): Promise<(TrimOutcome | { name: string; key: string; error: string })[]> => {
  const out: (TrimOutcome | { name: string; key: string; error: string })[] = []
  for (const t of plan.targets) {
    try {
      out.push(await trimStream(redis, t, recordOf(plan, t), dryRun, floors))
    } catch (e) {
      out.push({ name: t.name, key: t.key, error: (e as Error).message })
    }
  }
  return out
}

// ---------------------------------------------------------------- figures

/** Entries counted past the mark at most; beyond it the lag is reported as "at least". */
export const ARCHIVE_LAG_CAP = 100_000

export interface LastTrim {
  /** Redis TIME, ms, of the last pass that removed anything. */
  readonly at: number
  readonly removed: number
}

export interface StreamFigures {
  readonly name: string
  readonly key: string
  readonly length: number
  /** Redis TIME minus the oldest entry's ID time, ms; null for an empty stream. */
  readonly oldestAgeMs: number | null
  /** Newest minus oldest entry's ID time, ms (the entry time the stream spans); null when empty. */
  readonly spanMs: number | null
  /** Entries above the archive mark (not yet archived); null when the archive does not bound the stream. */
  readonly archiveLag: number | null
  /** True when archiveLag stopped counting at ARCHIVE_LAG_CAP. */
  readonly archiveLagCapped: boolean
  readonly lastTrim: LastTrim | null
  /** Entries removed by trimming, in all. */
  readonly removed: number
  /** Dead letters dropped by the cap, in all; null for streams that are not dead-letter streams. */
  readonly dropped: number | null
}

/** Entries above `mark`, counted up to `cap` inside Redis. */
const archiveLag = async (redis: Redis, key: string, length: number, newestId: string | undefined, mark: string | undefined, oldestId: string | undefined) => {
  if (length === 0 || newestId === undefined) return { lag: 0, capped: false }
  if (mark === undefined || (oldestId !== undefined && compareEntryIds(mark, oldestId) < 0)) return { lag: length, capped: false }
  if (compareEntryIds(mark, newestId) >= 0) return { lag: 0, capped: false }
  const n = Number(await define(redis).strataCountAfter(key, mark, ARCHIVE_LAG_CAP))
  return { lag: n, capped: n >= ARCHIVE_LAG_CAP }
}

/** What an operator reads about one stream; `nowMs` is Redis TIME (one reading for all streams). */
export const streamFigures = async (
  redis: Redis, target: Pick<TrimTarget, "name" | "key" | "archiveMark" | "dead">, recordKey: string, nowMs: number
): Promise<StreamFigures> => {
  const [state, record, mark] = await Promise.all([
    readStreamState(redis, target.key),
    redis.hmget(recordKey, `${target.name}:last_at`, `${target.name}:last_removed`, `${target.name}:removed`, `${target.name}:dropped`),
    target.archiveMark === undefined ? Promise.resolve(null) : redis.get(target.archiveMark)
  ])
  const [lastAt, lastRemoved, removed, dropped] = record
  const lag = target.archiveMark === undefined ? undefined : await archiveLag(redis, target.key, state.length, state.newestId, mark ?? undefined, state.oldestId)
  return {
    name: target.name, key: target.key, length: state.length,
    oldestAgeMs: state.oldestId === undefined ? null : Math.max(0, nowMs - entryIdMs(state.oldestId)),
    spanMs: state.oldestId === undefined || state.newestId === undefined ? null : entryIdMs(state.newestId) - entryIdMs(state.oldestId),
    archiveLag: lag?.lag ?? null, archiveLagCapped: lag?.capped ?? false,
    lastTrim: lastAt ? { at: Number(lastAt), removed: Number(lastRemoved ?? 0) } : null,
    removed: Number(removed ?? 0),
    dropped: target.dead ? Number(dropped ?? 0) : null
  }
}

/** Redis' own clock, ms: the one reading of "now" operator figures use. */
export const redisTimeMs = async (redis: Redis): Promise<number> => {
  const [s, us] = await redis.time()
  return Number(s) * 1000 + Math.floor(Number(us) / 1000)
}

/** Per-stream figures for operators; one Redis TIME reading for all of them. */
export const allStreamFigures = async (redis: Redis, plan: TrimPlan): Promise<StreamFigures[]> => {
  const now = await redisTimeMs(redis)
  return Promise.all(plan.targets.map((t) => streamFigures(redis, t, recordOf(plan, t), now)))
}
