/**
 * The scanner's whole history as one ordered stream: for each archived stream (the ingress
 * stream and, in a partitioned install, every partition's direct stream) the archive in the
 * lake up to that stream's mark, then what is still in Redis past it, with no gap and no
 * overlap at the seam; the streams merged by entry ID.
 *
 * The seam moves while we read: the archiver advances the mark and the trimmer may then
 * remove entries up to it. So each round reads a chunk from Redis first and the mark after
 * it. Nothing above that mark can have been trimmed before the read (the trimmer keeps
 * everything above the mark, and the mark only grows), so the chunk is complete past the
 * mark; whatever lies between our cursor and the mark comes from the archive, which is
 * verified up to it. Each stream's entries are handed over once each, by strictly growing ID.
 *
 * Merge order: by entry ID (the order producers' `*` IDs give, on Redis' one clock), the
 * order the ingress-only history had. The streams' IDs are independent, so one ID may be in
 * two of them: then the ingress entry comes first, then the direct ones by partition number.
 * Read-only: writes nothing anywhere.
 */
import type { Redis } from "ioredis"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { readRange } from "../../streams/stream-read.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { archiveKeys, directArchiveKeys, ingressKeys, installPartitionKeys, type ArchiveKeys } from "../../streams/keys.ts"
import { compareEntryIds } from "../domain/time.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { archivedBetween } from "../storage/scores-archive.ts"

/** A partition's direct stream and its mark (keys.ts `directArchiveKeys`). */
export interface DirectHistory {
  readonly partition: number
  readonly scores: string
  readonly keys: Pick<ArchiveKeys, "scoresArchived" | "inherited">
}

export interface HistorySource {
  readonly redis: Redis
  readonly store: ObjectStore
  /** The scores stream. */
  readonly scores: string
  /** Where the mark lives (keys.ts `archiveKeys`: partition 0's, or the router's in a partitioned install). */
  readonly keys: Pick<ArchiveKeys, "scoresArchived" | "inherited">
  /** The direct streams merged in (a partitioned install's; none: the ingress stream alone). */
  readonly directs?: readonly DirectHistory[]
  /** XRANGE bounds, inclusive: "-", "+", milliseconds or an entry ID. */
  readonly from?: string
  readonly to?: string
  readonly chunk?: number
}

/** An install's whole history: the ingress stream with its mark and, partitioned, every direct stream with its own. */
export const installHistory = (prefix: string, partitions: number): Pick<HistorySource, "scores" | "keys" | "directs"> => ({
  scores: ingressKeys(prefix).scores,
  keys: archiveKeys(prefix, partitions),
  directs: partitions === 1 ? [] : installPartitionKeys(prefix, partitions).map((k) => ({
    partition: k.partition, scores: k.scoresDirect, keys: directArchiveKeys(prefix, k.partition, partitions)
  }))
})

const MAX_SEQ = 18446744073709551615n

/** The greatest ID below an inclusive lower bound (undefined: nothing is below it). */
export const idBefore = (from: string): string | undefined => {
  if (from === "-") return undefined
  const [ms = "0", seq] = from.split("-")
  if (seq !== undefined && BigInt(seq) > 0n) return `${ms}-${BigInt(seq) - 1n}`
  return BigInt(ms) > 0n ? `${BigInt(ms) - 1n}-${MAX_SEQ}` : undefined
}

/** The greatest ID an inclusive upper bound admits (undefined: no bound). */
export const idUpTo = (to: string): string | undefined => {
  if (to === "+") return undefined
  return to.includes("-") ? to : `${to}-${MAX_SEQ}`
}

interface OneStream {
  readonly redis: Redis
  readonly store: ObjectStore
  readonly scores: string
  readonly keys: Pick<ArchiveKeys, "scoresArchived" | "inherited">
  /** Undefined: the ingress stream's archive tree; else that partition's direct tree. */
  readonly partition: number | undefined
  readonly from: string
  readonly to: string
  readonly chunk: number
}

/** One stream's history: its archive up to its mark, then Redis past it. */
async function* streamHistory(s: OneStream): AsyncGenerator<StreamEntry> {
  const upper = idUpTo(s.to)
  let after = idBefore(s.from)
  for (;;) {
    const rows = await readRange(s.redis, s.scores, after === undefined ? s.from : `(${after}`, s.to, s.chunk)
    const mark = await readArchiveMark(s.redis, s.keys)
    if (mark !== undefined && (after === undefined || compareEntryIds(mark, after) > 0)) {
      const upTo = upper !== undefined && compareEntryIds(upper, mark) < 0 ? upper : mark
      for await (const row of archivedBetween(s.store, after, upTo, s.partition)) yield { id: row.id, fields: row.fields }
      after = upTo
    }
    for (const entry of rows) {
      if (after !== undefined && compareEntryIds(entry.id, after) <= 0) continue
      after = entry.id
      yield entry
    }
    if (rows.length < s.chunk) return
  }
}

/**
 * Ordered sources merged by entry ID; of equal IDs, the earlier source's first. Each
 * source is read one entry ahead, so memory stays one entry per stream.
 */
export async function* mergeById(sources: readonly AsyncIterator<StreamEntry>[]): AsyncGenerator<StreamEntry> {
  const heads: (StreamEntry | undefined)[] = []
  for (const s of sources) heads.push((await s.next()).value ?? undefined)
  for (;;) {
    let at = -1
    heads.forEach((h, i) => {
      if (h === undefined) return
      const best = at < 0 ? undefined : heads[at]
      if (best === undefined || compareEntryIds(h.id, best.id) < 0) at = i
    })
    if (at < 0) return
    yield heads[at] as StreamEntry
    const next = await (sources[at] as AsyncIterator<StreamEntry>).next()
    heads[at] = next.done === true ? undefined : next.value
  }
}

export async function* readHistory(source: HistorySource): AsyncGenerator<StreamEntry> {
  const common = { redis: source.redis, store: source.store, from: source.from ?? "-", to: source.to ?? "+", chunk: source.chunk ?? 5_000 }
  const ingress = streamHistory({ ...common, scores: source.scores, keys: source.keys, partition: undefined })
  const directs = [...source.directs ?? []].sort((a, b) => a.partition - b.partition)
  if (directs.length === 0) {
    yield* ingress
    return
  }
  yield* mergeById([ingress, ...directs.map((d) => streamHistory({ ...common, scores: d.scores, keys: d.keys, partition: d.partition }))])
}
