/**
 * Record scanner entries to a file: every entry of a source (a stream between two bounds, or
 * the scanner's history over archive and Redis, source.ts), with its entry ID and its fields
 * exactly as stored, in stream order. Reads with XRANGE only, so recording a live install
 * never disturbs its consumer groups.
 */
import type { Redis } from "ioredis"
import type { StreamEntry } from "../../streams/entry.ts"
import { openRecording } from "./file.ts"
import { readStreamRange } from "./source.ts"

export interface RecordOptions {
  readonly stream: string
  readonly out: string
  readonly from?: string
  readonly to?: string
  readonly onProgress?: (written: number) => void
}

export interface RecordResult {
  readonly entries: number
  readonly firstId: string | undefined
  readonly lastId: string | undefined
}

export const recordStream = (redis: Redis, options: RecordOptions): Promise<RecordResult> =>
  recordEntries(readStreamRange(redis, options.stream, options.from ?? "-", options.to ?? "+"), options.out, options.onProgress)

/** Write `source`'s entries to `out` in the recording format. */
export const recordEntries = async (
  source: AsyncIterable<StreamEntry>, out: string, onProgress?: (written: number) => void
): Promise<RecordResult> => {
  const writer = openRecording(out)
  let entries = 0
  let firstId: string | undefined
  let lastId: string | undefined
  try {
    for await (const entry of source) {
      await writer.write(entry)
      firstId ??= entry.id
      lastId = entry.id
      if (++entries % 1000 === 0) onProgress?.(entries)
    }
  } finally {
    await writer.close()
  }
  onProgress?.(entries)
  return { entries, firstId, lastId }
}
