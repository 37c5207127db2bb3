/**
 * Record a scanner stream to a file: every entry between two bounds, with its entry ID and
 * its fields exactly as stored, in stream order. Reads with XRANGE only, so recording a
 * live install never disturbs its consumer groups.
 */
import type { Redis } from "ioredis"
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

export const recordStream = async (redis: Redis, options: RecordOptions): Promise<RecordResult> => {
  const writer = openRecording(options.out)
  let entries = 0
  let firstId: string | undefined
  let lastId: string | undefined
  try {
    for await (const entry of readStreamRange(redis, options.stream, options.from ?? "-", options.to ?? "+")) {
      await writer.write(entry)
      firstId ??= entry.id
      lastId = entry.id
      if (++entries % 1000 === 0) options.onProgress?.(entries)
    }
  } finally {
    await writer.close()
  }
  options.onProgress?.(entries)
  return { entries, firstId, lastId }
}
