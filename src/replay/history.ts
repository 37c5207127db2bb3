/**
 * The scanner's whole history as one ordered stream: the archive in the lake up to the mark,
 * then what is still in Redis past it, with no gap and no overlap at the seam.
 *
 * The seam moves while we read: the archiver advances the mark and the trimmer may then
 * remove entries up to it. So each round reads a chunk from Redis first and the mark after
 * it. Nothing above that mark can have been trimmed before the read (the trimmer keeps
 * everything above the mark, and the mark only grows), so the chunk is complete past the
 * mark; whatever lies between our cursor and the mark comes from the archive, which is
 * verified up to it. Entries are handed over once each, by strictly growing ID.
 * Read-only: writes nothing anywhere.
 */
import type { Redis } from "ioredis"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { readRange } from "../../streams/stream-read.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import type { ArchiveKeys } from "../../streams/keys.ts"
import { compareEntryIds } from "../domain/time.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { archivedBetween } from "../storage/scores-archive.ts"

export interface HistorySource {
  readonly redis: Redis
  readonly store: ObjectStore
  /** The scores stream. */
  readonly scores: string
  /** Where the mark lives (keys.ts `archiveKeys`: partition 0's, or the router's in a partitioned install). */
  readonly keys: Pick<ArchiveKeys, "scoresArchived" | "inherited">
  /** XRANGE bounds, inclusive: "-", "+", milliseconds or an entry ID. */
  readonly from?: string
  readonly to?: string
  readonly chunk?: number
}

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

export async function* readHistory(source: HistorySource): AsyncGenerator<StreamEntry> {
  const from = source.from ?? "-"
  const to = source.to ?? "+"
  const chunk = source.chunk ?? 5_000
  const upper = idUpTo(to)
  let after = idBefore(from)
  for (;;) {
    const rows = await readRange(source.redis, source.scores, after === undefined ? from : `(${after}`, to, chunk)
    const mark = await readArchiveMark(source.redis, source.keys)
    if (mark !== undefined && (after === undefined || compareEntryIds(mark, after) > 0)) {
      const upTo = upper !== undefined && compareEntryIds(upper, mark) < 0 ? upper : mark
      for await (const row of archivedBetween(source.store, after, upTo)) yield { id: row.id, fields: row.fields }
      after = upTo
    }
    for (const entry of rows) {
      if (after !== undefined && compareEntryIds(entry.id, after) <= 0) continue
      after = entry.id
      yield entry
    }
    if (rows.length < chunk) return
  }
}
