/**
 * Replayed entries handed out in chunks: what a replay loop reads, so that it pays one await
 * per chunk, never one per entry (an `await` per entry, even of an already-settled value,
 * was a large share of a dry run's time). A source that has its entries in batches anyway
 * (a recording's read buffers) gives them as they are; an array or any other iterable is
 * cut into slices; an entry-by-entry async source is gathered into chunks, which saves the
 * reader's awaits but not the source's. Does not reorder, drop or copy entries.
 */
import type { StreamEntry } from "../../streams/entry.ts"

/** Entries already in chunks (each non-empty, in order). */
export interface EntryChunks {
  readonly chunks: AsyncIterable<readonly StreamEntry[]>
}

/** What a replay takes: entries one by one (sync or async), or in chunks. */
export type ReplayInput = Iterable<StreamEntry> | AsyncIterable<StreamEntry> | EntryChunks

const isChunks = (input: ReplayInput): input is EntryChunks => "chunks" in input

const isAsync = (input: Iterable<StreamEntry> | AsyncIterable<StreamEntry>): input is AsyncIterable<StreamEntry> =>
  Symbol.asyncIterator in input

/** The input's entries in order, in chunks of at most `size` (source chunks pass as they are). */
export async function* chunksOf(input: ReplayInput, size: number): AsyncGenerator<readonly StreamEntry[]> {
  if (isChunks(input)) {
    yield* input.chunks
    return
  }
  if (Array.isArray(input)) {
    for (let i = 0; i < input.length; i += size) yield input.slice(i, i + size)
    return
  }
  let chunk: StreamEntry[] = []
  const source = input as Iterable<StreamEntry> | AsyncIterable<StreamEntry>
  if (isAsync(source)) {
    for await (const entry of source) {
      chunk.push(entry)
      if (chunk.length >= size) { yield chunk; chunk = [] }
    }
  } else {
    for (const entry of source) {
      chunk.push(entry)
      if (chunk.length >= size) { yield chunk; chunk = [] }
    }
  }
  if (chunk.length > 0) yield chunk
}
