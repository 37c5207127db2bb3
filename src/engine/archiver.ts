/**
 * The scanner archive's writer: scores entries past a stream's mark go to the lake as Parquet
 * parts (src/storage/scores-archive.ts), dead-lettered ones marked with their reason, and the mark
 * (streams/archive-mark.ts) moves only after every part of a chunk was read back and holds
 * exactly the chunk's IDs. So at any instant the parts at or below the mark hold every entry
 * up to it exactly once; a crash leaves at most unverified parts past the mark, which the
 * retried chunk replaces (same first ID, new epoch) and deletes.
 *
 * It reads with XRANGE from the mark, never with a consumer group of its own (which would
 * hold trimming back forever whenever archiving is off), and only entries the ingress
 * stream's reader has acknowledged: in an install of one partition the engine's group, whose
 * atomic step writes an entry's dead letter with it; in a partitioned install the router's
 * group, which writes its dead letters before it acknowledges. Either way the dead letters of
 * those entries are in the ingress dead-letter stream, read from the mark on. The partitions'
 * scores streams are copies of the ingress entries under their IDs: nothing of them is archived.
 * The mark and the lease fencing it are keys.ts `archiveKeys`: partition 0's, or the router's
 * in a partitioned install, whose holder archives (and so, when it moves to another engine,
 * the new holder goes on from the mark).
 *
 * A partitioned install's direct streams are no copies: each is archived the same way, into
 * a tree of its own (`scores/direct/<P>/…`), by its partition's lease holder, with a mark of
 * its own in the partition's slot (keys.ts `directArchiveKeys`), once the partition's engine
 * group has acknowledged an entry (its atomic step writes the entry's dead letter, on the
 * partition's dead-letter stream, with the acknowledgement). That dead-letter stream also
 * holds dead letters of the router-filled stream, whose IDs are independent of the direct
 * stream's: a dead letter marks a direct entry only when it is the very letter the step
 * writes for that entry (same source ID, and its header and copy rebuilt from the entry).
 * Does not trim: trimming keeps everything above the mark.
 */
import { Effect, Schedule } from "effect"
import type { Redis } from "ioredis"
import { advanceArchiveMark, readArchiveMark } from "../../streams/archive-mark.ts"
import { appliedBound } from "../../streams/consumer.ts"
import { readRange } from "../../streams/stream-read.ts"
import { deadLetterFields, parseDeadLetter } from "../../streams/dead-letter.ts"
import { fieldValue } from "../../streams/entry.ts"
import type { Config } from "../../config/schema.ts"
import { archiveKeys, directArchiveKeys, GROUPS, ingressKeys, partitionKeys, type ArchiveKeys, type IngressKeys } from "../../streams/keys.ts"
import type { Lease, LeaseHolder } from "../../streams/lease.ts"
import { decodeScoresEntry, type DecodeLimits } from "../../streams/scores-wire.ts"
import { compareEntryIds, entryIdMs, parseDuration } from "../domain/time.ts"
import type { Logger } from "../services/logger.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { encodeArchivePart, hourFolder, parsePartKey, partIds, partKey, type ArchivedScore } from "../storage/scores-archive.ts"

export interface ArchiverDeps {
  /** A connection of the archiver's own: chunks are read in many XRANGE calls. */
  readonly redis: Redis
  readonly store: ObjectStore
  /** The stream archived (`scores`) and the dead-letter stream its reader writes (`scoresDead`). */
  readonly source: IngressKeys
  /**
   * Undefined: the ingress stream, archived under `scores/`. A partition: that partition's
   * direct stream, archived under `scores/direct/<P>/`, its dead letters matched by content.
   */
  readonly partition?: number
  /** The mark and the lease that fences it. */
  readonly keys: ArchiveKeys
  /** The group on the archived stream whose acknowledged entries may be archived. */
  readonly appliedBy: string
  readonly limits: DecodeLimits
  /** Most entries per chunk (one verified step of the mark). */
  readonly maxRows: number
  /**
   * The lease as the engine's local view trusts it now; undefined: do not write. Asked
   * before every chunk; in the archive thread it is a question to the engine's thread.
   */
  readonly holder: () => LeaseHolder | undefined | Promise<LeaseHolder | undefined>
  /** Test-only faults at two points of a chunk (src/engine/archive-faults.ts). */
  readonly faults?: ArchiveFaults
  readonly log?: Logger
}

export interface ArchiveFaults {
  /** After the chunk was read, before it is encoded. */
  readonly afterRead?: () => void
  /** After its parts were written and verified, before the mark moves. */
  readonly beforeMark?: () => Promise<void>
}

export interface ArchiveReport {
  /** The stream archived. */
  stream: string
  chunks: number
  rows: number
  dead: number
  parts: number
  /** Unverified parts of an interrupted chunk, replaced and deleted. */
  leftovers: number
  mark: string | undefined
}

/** The part was not stored as written: the mark stays. */
export class ArchiveVerifyError extends Error {
  override readonly name = "ArchiveVerifyError"
}

const READ_CHUNK = 5_000
const HOUR_MS = 3_600_000

interface DeadMark { readonly reason: string; readonly id: string; readonly fields: readonly string[] }

/**
 * Dead letters added after `mark`, by the scores entry they reject. Dead-letter IDs are
 * made by the engine's atomic step (`*`) after its source entry exists, so every dead
 * letter of an entry past the mark lies past the mark too: the bound the trimmer keeps as
 * well. (A producer writing entry IDs ahead of the clock breaks that order; its rejected
 * entries are then still marked dead, with the decoder's reason.)
 */
const deadLettersSince = async (redis: Redis, dead: string, mark: string | undefined): Promise<Map<string, DeadMark[]>> => {
  const out = new Map<string, DeadMark[]>()
  let start = mark === undefined ? "-" : `(${mark}`
  for (;;) {
    const rows = await readRange(redis, dead, start, "+", READ_CHUNK)
    for (const { id, fields } of rows) {
      const d = parseDeadLetter(fields)
      if (!d) continue
      const all = out.get(d.sourceId)
      if (all) all.push({ reason: d.reason, id, fields })
      else out.set(d.sourceId, [{ reason: d.reason, id, fields }])
    }
    const last = rows.at(-1)
    if (!last || rows.length < READ_CHUNK) return out
    start = `(${last.id}`
  }
}

const sameIds = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * The dead letter of entry `id`: the first by that source ID, or, where the dead-letter stream
 * is shared with another stream (`byContent`: a direct stream's), the first that is exactly
 * what the atomic step writes for this entry and reason (dead-letter.ts is deterministic).
 */
const deadLetterOf = (id: string, fields: readonly string[], deadOf: ReadonlyMap<string, readonly DeadMark[]>, byContent: boolean): DeadMark | undefined => {
  const all = deadOf.get(id)
  if (!byContent) return all?.[0]
  return all?.find((d) => sameIds(d.fields, deadLetterFields({ id, fields }, d.reason)))
}

const rowOf = (deps: ArchiverDeps, id: string, fields: readonly string[], deadOf: ReadonlyMap<string, readonly DeadMark[]>): ArchivedScore => {
  const decoded = decodeScoresEntry(id, fields, deps.limits)
  const dead = deadLetterOf(id, fields, deadOf, deps.partition !== undefined)
  const raw = fieldValue(fields, "symbol")
  return {
    id, idTime: entryIdMs(id), fields,
    eventTime: decoded.ok ? decoded.at : null,
    symbol: decoded.ok ? decoded.symbol : raw ?? null,
    // The engine's dead letter decides; an entry that does not decode but lost its dead
    // letter (purged by hand) is still marked, with the decoder's reason.
    dead: dead !== undefined || !decoded.ok,
    deadReason: dead?.reason ?? (decoded.ok ? null : decoded.reason),
    deadId: dead?.id ?? null,
    stream: deps.source.scores
  }
}

/** Up to `max` entries of `stream` in (`after`, `end`], read `READ_CHUNK` at a time. */
const readChunk = async (redis: Redis, stream: string, after: string | undefined, end: string, max: number) => {
  const out: [string, readonly string[]][] = []
  let start = after === undefined ? "-" : `(${after}`
  while (out.length < max) {
    const want = Math.min(READ_CHUNK, max - out.length)
    const rows = await readRange(redis, stream, start, end, want)
    // Each reply's field lists are fresh arrays of this read: no copy is needed.
    for (const e of rows) out.push([e.id, e.fields])
    const last = rows.at(-1)
    if (!last || rows.length < want) break
    start = `(${last.id}`
  }
  return out
}

/**
 * One chunk: entries in (mark, end], at most maxRows, one part per UTC hour; each part read
 * back; leftovers of an interrupted chunk deleted; then the mark moves (fenced).
 */
const archiveChunk = async (
  deps: ArchiverDeps, mark: string | undefined, end: string, deadOf: ReadonlyMap<string, readonly DeadMark[]>, report: ArchiveReport
): Promise<string | undefined> => {
  const entries = await readChunk(deps.redis, deps.source.scores, mark, end, deps.maxRows)
  const last = entries.at(-1)
  if (!last) return undefined
  const holder = await deps.holder()
  if (!holder) return undefined
  deps.faults?.afterRead?.()
  const byHour = new Map<string, ArchivedScore[]>()
  // IDs ascend, so an hour's rows are consecutive: its folder is named once, not per row.
  let hour = NaN
  let hourRows: ArchivedScore[] = []
  for (const [id, fields] of entries) {
    const row = rowOf(deps, id, fields, deadOf)
    const h = Math.floor(row.idTime / HOUR_MS)
    if (h !== hour) {
      hour = h
      const folder = hourFolder(row.idTime, deps.partition)
      const had = byHour.get(folder)
      if (!had) byHour.set(folder, (hourRows = []))
      else hourRows = had
    }
    hourRows.push(row)
    if (row.dead) report.dead++
  }
  const written = new Set<string>()
  for (const rows of byHour.values()) {
    const key = partKey((rows[0] as ArchivedScore).id, holder.epoch, deps.partition)
    await deps.store.put(key, await encodeArchivePart(rows))
    const back = await partIds(deps.store, key)
    if (!back || !sameIds(back, rows.map((r) => r.id))) {
      throw new ArchiveVerifyError(`archive part ${key} read back ${back ? `${back.length} IDs` : "missing"}, ${rows.length} written: the mark stays at ${mark ?? "nothing"}`)
    }
    written.add(key)
    report.parts++
  }
  // Parts of an interrupted chunk start past the mark: the ones this chunk covers go now,
  // before the mark makes the range count as archived.
  for (const folder of byHour.keys()) {
    for (const key of await deps.store.list(folder)) {
      const part = parsePartKey(key)
      if (!part || part.partition !== deps.partition || written.has(key)) continue
      const inChunk = (mark === undefined || compareEntryIds(part.firstId, mark) > 0) && compareEntryIds(part.firstId, last[0]) <= 0
      if (!inChunk) continue
      await deps.store.delete(key)
      report.leftovers++
    }
  }
  await deps.faults?.beforeMark?.()
  await advanceArchiveMark(deps.redis, deps.keys, holder, last[0])
  report.chunks++
  report.rows += entries.length
  return entries.length < deps.maxRows ? undefined : last[0]
}

/** Archive everything the stream's reader has acknowledged past the mark, chunk by chunk. */
export const archivePass = async (deps: ArchiverDeps): Promise<ArchiveReport> => {
  let mark = await readArchiveMark(deps.redis, deps.keys)
  const report: ArchiveReport = { stream: deps.source.scores, chunks: 0, rows: 0, dead: 0, parts: 0, leftovers: 0, mark }
  // The lease first: an engine holds few of a partitioned install's direct streams.
  if ((await deps.holder()) === undefined) return report
  const end = await appliedBound(deps.redis, deps.source.scores, deps.appliedBy)
  if (end === undefined) return report
  const deadOf = await deadLettersSince(deps.redis, deps.source.scoresDead, mark)
  for (;;) {
    const next = await archiveChunk(deps, mark, end, deadOf, report)
    report.mark = (await readArchiveMark(deps.redis, deps.keys)) ?? mark
    if (next === undefined) return report
    mark = next
  }
}

/** What one pass came to, as the loop reports it (the archive thread posts it to the engine's thread). */
export type PassOutcome =
  | { readonly kind: "archived"; readonly report: ArchiveReport }
  /** The lease changed hands mid-pass (a restart, a pause): expected, and nothing moved. */
  | { readonly kind: "fenced"; readonly cause: string }
  | { readonly kind: "failed"; readonly cause: string }

/** One pass, its failure folded into the outcome: the next pass retries from the mark. */
export const passOutcome = (deps: ArchiverDeps) =>
  Effect.tryPromise(() => archivePass(deps)).pipe(
    Effect.map((report): PassOutcome => ({ kind: "archived", report })),
    Effect.catchCause((cause) => Effect.sync((): PassOutcome => {
      const text = `${deps.source.scores}: ${String(cause)}`
      return { kind: text.includes("STRATA_FENCED") ? "fenced" : "failed", cause: text }
    }))
  )

/** The one wording of a pass's outcome in the logs, whichever thread ran it. */
export const logPassOutcome = (log: Logger | undefined, o: PassOutcome): void => {
  if (o.kind === "archived") { if (o.report.rows > 0) log?.info({ archive: o.report }, "scores archived") }
  else if (o.kind === "fenced") log?.warn({ cause: o.cause }, "archive pass fenced: the lease changed hands; the next pass retries from the mark")
  else log?.error({ cause: o.cause }, "archive pass failed; the next pass retries from the mark")
}

/**
 * The archive loop: a pass of every target (the ingress stream, then each direct stream)
 * every `everyMs` (the first at once), each outcome handed to `report` (logged with the
 * first target's `log` by default). A pass without its lease does nothing; one target's
 * failed pass does not stop the others'.
 */
export const archiveFiber = (targets: ArchiverDeps | readonly ArchiverDeps[], everyMs: number, report?: (o: PassOutcome) => void) => {
  const all: readonly ArchiverDeps[] = "source" in targets ? [targets] : targets
  const tell = report ?? ((o: PassOutcome) => logPassOutcome(all[0]?.log, o))
  return Effect.forEach(all, (deps) => passOutcome(deps).pipe(Effect.tap((o) => Effect.sync(() => tell(o)))), { discard: true }).pipe(
    Effect.repeat(Schedule.spaced(`${everyMs} millis`))
  )
}

interface DepsInput { redis: Redis; store: ObjectStore; holder: ArchiverDeps["holder"]; faults?: ArchiveFaults; log?: Logger }

const commonDeps = (config: Config, deps: DepsInput) => ({
  redis: deps.redis, store: deps.store,
  limits: { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length },
  maxRows: config.archive.max_rows,
  holder: deps.holder,
  ...(deps.faults ? { faults: deps.faults } : {}),
  ...(deps.log ? { log: deps.log } : {})
})

/** The ingress archiver's dependencies from the configuration, the lease asked through `holder`. */
export const archiverDepsWith = (config: Config, deps: DepsInput): ArchiverDeps => ({
  ...commonDeps(config, deps),
  source: ingressKeys(config.redis.prefix), keys: archiveKeys(config.redis.prefix, config.partitions),
  appliedBy: config.partitions === 1 ? GROUPS.engine : GROUPS.router
})

/**
 * Partition `partition`'s direct-stream archiver (a partitioned install): the direct stream,
 * the partition's dead letters, its mark fenced by its lease (asked through `holder`).
 */
export const directArchiverDepsWith = (config: Config, partition: number, deps: DepsInput): ArchiverDeps => {
  const keys = partitionKeys(config.redis.prefix, partition, config.partitions)
  return {
    ...commonDeps(config, deps),
    source: { scores: keys.scoresDirect, scoresDead: keys.scoresDead }, partition,
    keys: directArchiveKeys(config.redis.prefix, partition, config.partitions),
    appliedBy: GROUPS.engine
  }
}

/**
 * Everything an engine's archive thread archives: the ingress stream (its lease: `holder()`)
 * and, in a partitioned install, every partition's direct stream (`holder(partition)`: that
 * partition's lease as this engine holds it, else none, so only its holder writes).
 */
export const archiveTargetsWith = (
  config: Config, deps: Omit<DepsInput, "holder"> & { readonly holder: (partition?: number) => ReturnType<ArchiverDeps["holder"]> }
): ArchiverDeps[] => [
  archiverDepsWith(config, { ...deps, holder: () => deps.holder() }),
  ...(config.partitions === 1 ? [] : Array.from({ length: config.partitions }, (_, p) =>
    directArchiverDepsWith(config, p, { ...deps, holder: () => deps.holder(p) })))
]


/** A part takes a moment to write: a chunk starts only with a quarter of the lease's TTL left. */
export const archiveHolder = (lease: Lease): LeaseHolder | undefined => lease.held(Math.floor(lease.ttlMs / 4))

/** The archiver's dependencies as `strata archive` (and tests) build them, beside the lease. */
export const archiverDeps = (
  config: Config, deps: { redis: Redis; store: ObjectStore; lease: Lease; log?: Logger }
): ArchiverDeps => archiverDepsWith(config, { redis: deps.redis, store: deps.store, holder: () => archiveHolder(deps.lease), ...(deps.log ? { log: deps.log } : {}) })

export const archiveEvery = (config: Config): number => parseDuration(config.archive.every) ?? 60_000
