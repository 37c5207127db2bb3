/**
 * The scanner archive's writer: ingress scores entries past the mark go to the lake as Parquet parts
 * (src/storage/scores-archive.ts), dead-lettered ones marked with their reason, and the mark
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
 * Does not trim: trimming keeps everything above the mark.
 */
import { Effect, Schedule } from "effect"
import type { Redis } from "ioredis"
import { advanceArchiveMark, readArchiveMark } from "../../streams/archive-mark.ts"
import { appliedBound } from "../../streams/consumer.ts"
import { readRange } from "../../streams/stream-read.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { fieldValue } from "../../streams/entry.ts"
import type { Config } from "../../config/schema.ts"
import { archiveKeys, GROUPS, ingressKeys, type ArchiveKeys, type IngressKeys } from "../../streams/keys.ts"
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
  readonly ingress: IngressKeys
  /** The mark and the lease that fences it. */
  readonly keys: ArchiveKeys
  /** The group on the ingress stream whose acknowledged entries may be archived. */
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

interface DeadMark { readonly reason: string; readonly id: string }

/**
 * Dead letters added after `mark`, by the scores entry they reject. Dead-letter IDs are
 * made by the engine's atomic step (`*`) after its source entry exists, so every dead
 * letter of an entry past the mark lies past the mark too: the bound the trimmer keeps as
 * well. (A producer writing entry IDs ahead of the clock breaks that order; its rejected
 * entries are then still marked dead, with the decoder's reason.)
 */
const deadLettersSince = async (redis: Redis, dead: string, mark: string | undefined): Promise<Map<string, DeadMark>> => {
  const out = new Map<string, DeadMark>()
  let start = mark === undefined ? "-" : `(${mark}`
  for (;;) {
    const rows = await readRange(redis, dead, start, "+", READ_CHUNK)
    for (const { id, fields } of rows) {
      const d = parseDeadLetter(fields)
      if (d && !out.has(d.sourceId)) out.set(d.sourceId, { reason: d.reason, id })
    }
    const last = rows.at(-1)
    if (!last || rows.length < READ_CHUNK) return out
    start = `(${last.id}`
  }
}

const rowOf = (id: string, fields: readonly string[], deadOf: ReadonlyMap<string, DeadMark>, limits: DecodeLimits): ArchivedScore => {
  const decoded = decodeScoresEntry(id, fields, limits)
  const dead = deadOf.get(id)
  const raw = fieldValue(fields, "symbol")
  return {
    id, idTime: entryIdMs(id), fields,
    eventTime: decoded.ok ? decoded.at : null,
    symbol: decoded.ok ? decoded.symbol : raw ?? null,
    // The engine's dead letter decides; an entry that does not decode but lost its dead
    // letter (purged by hand) is still marked, with the decoder's reason.
    dead: dead !== undefined || !decoded.ok,
    deadReason: dead?.reason ?? (decoded.ok ? null : decoded.reason),
    deadId: dead?.id ?? null
  }
}

/** Up to `max` entries of `stream` in (`after`, `end`], read `READ_CHUNK` at a time. */
const readChunk = async (redis: Redis, stream: string, after: string | undefined, end: string, max: number) => {
  const out: [string, string[]][] = []
  let start = after === undefined ? "-" : `(${after}`
  while (out.length < max) {
    const want = Math.min(READ_CHUNK, max - out.length)
    const rows = await readRange(redis, stream, start, end, want)
    out.push(...rows.map((e): [string, string[]] => [e.id, [...e.fields]]))
    const last = rows.at(-1)
    if (!last || rows.length < want) break
    start = `(${last.id}`
  }
  return out
}

const sameIds = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * One chunk: entries in (mark, end], at most maxRows, one part per UTC hour; each part read
 * back; leftovers of an interrupted chunk deleted; then the mark moves (fenced).
 */
const archiveChunk = async (
  deps: ArchiverDeps, mark: string | undefined, end: string, deadOf: ReadonlyMap<string, DeadMark>, report: ArchiveReport
): Promise<string | undefined> => {
  const entries = await readChunk(deps.redis, deps.ingress.scores, mark, end, deps.maxRows)
  const last = entries.at(-1)
  if (!last) return undefined
  const holder = await deps.holder()
  if (!holder) return undefined
  deps.faults?.afterRead?.()
  const byHour = new Map<string, ArchivedScore[]>()
  for (const [id, fields] of entries) {
    const row = rowOf(id, fields, deadOf, deps.limits)
    const folder = hourFolder(row.idTime)
    let rows = byHour.get(folder)
    if (!rows) byHour.set(folder, (rows = []))
    rows.push(row)
    if (row.dead) report.dead++
  }
  const written = new Set<string>()
  for (const rows of byHour.values()) {
    const key = partKey((rows[0] as ArchivedScore).id, holder.epoch)
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
      if (!part || written.has(key)) continue
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

/** Archive everything the engine has applied past the mark, chunk by chunk. */
export const archivePass = async (deps: ArchiverDeps): Promise<ArchiveReport> => {
  let mark = await readArchiveMark(deps.redis, deps.keys)
  const report: ArchiveReport = { chunks: 0, rows: 0, dead: 0, parts: 0, leftovers: 0, mark }
  const end = await appliedBound(deps.redis, deps.ingress.scores, deps.appliedBy)
  if (end === undefined || (await deps.holder()) === undefined) return report
  const deadOf = await deadLettersSince(deps.redis, deps.ingress.scoresDead, mark)
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
      const text = String(cause)
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
 * The archive loop: a pass every `everyMs` (the first at once), each outcome handed to
 * `report` (logged with `deps.log` by default). A pass without the lease does nothing.
 */
export const archiveFiber = (deps: ArchiverDeps, everyMs: number, report: (o: PassOutcome) => void = (o) => logPassOutcome(deps.log, o)) =>
  passOutcome(deps).pipe(
    Effect.tap((o) => Effect.sync(() => report(o))),
    Effect.repeat(Schedule.spaced(`${everyMs} millis`))
  )

/** The archiver's dependencies from the configuration, the lease asked through `holder`. */
export const archiverDepsWith = (
  config: Config, deps: { redis: Redis; store: ObjectStore; holder: ArchiverDeps["holder"]; faults?: ArchiveFaults; log?: Logger }
): ArchiverDeps => ({
  redis: deps.redis, store: deps.store,
  ingress: ingressKeys(config.redis.prefix), keys: archiveKeys(config.redis.prefix, config.partitions),
  appliedBy: config.partitions === 1 ? GROUPS.engine : GROUPS.router,
  limits: { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length },
  maxRows: config.archive.max_rows,
  holder: deps.holder,
  ...(deps.faults ? { faults: deps.faults } : {}),
  ...(deps.log ? { log: deps.log } : {})
})

/** A part takes a moment to write: a chunk starts only with a quarter of the lease's TTL left. */
export const archiveHolder = (lease: Lease): LeaseHolder | undefined => lease.held(Math.floor(lease.ttlMs / 4))

/** The archiver's dependencies as `strata archive` (and tests) build them, beside the lease. */
export const archiverDeps = (
  config: Config, deps: { redis: Redis; store: ObjectStore; lease: Lease; log?: Logger }
): ArchiverDeps => archiverDepsWith(config, { redis: deps.redis, store: deps.store, holder: () => archiveHolder(deps.lease), ...(deps.log ? { log: deps.log } : {}) })

export const archiveEvery = (config: Config): number => parseDuration(config.archive.every) ?? 60_000
