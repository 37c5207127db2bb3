/**
 * Where replayed entries come from: a recording file or a live stream read with XRANGE in
 * chunks (never the whole stream at once), optionally bounded by `--from`/`--to` given as
 * entry IDs or times. Read-only: nothing here writes to Redis.
 */
import type { Redis } from "ioredis"
import { readAll } from "../../streams/consumer.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { parseEventTime } from "../domain/time.ts"
import { readRecording } from "./file.ts"

const ID_OR_MS = /^\d{1,20}(?:-\d{1,20})?$/

/**
 * A range bound as XRANGE takes it: an entry ID (`1700000000000-3`), milliseconds
 * (`1700000000000`) or an ISO-8601 time (converted to milliseconds). Throws naming the flag.
 */
export const parseBound = (flag: string, text: string | undefined, open: "-" | "+"): string => {
  if (text === undefined || text === "") return open
  const t = text.trim()
  if (ID_OR_MS.test(t)) return t
  const ms = parseEventTime(t)
  if (ms === undefined) throw new Error(`${flag} ${JSON.stringify(text)}: expected an entry ID (1700000000000-0), milliseconds or an ISO-8601 time`)
  return String(ms)
}

/** Entries of `stream` between two XRANGE bounds (inclusive), `chunk` at a time. */
export async function* readStreamRange(
  redis: Redis, stream: string, from = "-", to = "+", chunk = 5000
): AsyncGenerator<StreamEntry> {
  yield* readAll(redis, stream, from, to, chunk)
}

export type ReplaySource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "stream"; readonly redis: Redis; readonly key: string; readonly from?: string; readonly to?: string }

export const entriesOf = (source: ReplaySource): AsyncGenerator<StreamEntry> =>
  source.kind === "file"
    ? readRecording(source.path)
    : readStreamRange(source.redis, source.key, source.from ?? "-", source.to ?? "+")

/** How many entries a source holds, for the progress bar (undefined when unknown cheaply). */
export const countEntries = async (source: ReplaySource): Promise<number | undefined> => {
  if (source.kind === "file") return undefined
  if ((source.from ?? "-") === "-" && (source.to ?? "+") === "+") return source.redis.xlen(source.key)
  return undefined
}
