/**
 * Where replayed entries come from: a recording file, a live stream read with XRANGE in
 * chunks (never the whole stream at once), or the scanner's history (the archive in the
 * lake, then Redis past the mark: history.ts), optionally bounded by `--from`/`--to` given
 * as entry IDs or times and narrowed to some symbols; a dry run reads a recording or a
 * stream in chunks (`replayInputOf`). Read-only: nothing here writes.
 */
import type { Redis } from "ioredis"
import { readAll, readAllChunks } from "../../streams/stream-read.ts"
import { fieldValue, type StreamEntry } from "../../streams/entry.ts"
import { normaliseSymbol } from "../domain/symbols.ts"
import { parseEventTime } from "../domain/time.ts"
import { readRecording, readRecordingChunks } from "./file.ts"
import type { ReplayInput } from "./chunks.ts"
import { readHistory, type HistorySource } from "./history.ts"

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
  | ({ readonly kind: "history" } & HistorySource)

/** Entries whose symbol (trimmed, upper-cased, as the engine reads it) is one of `symbols`. */
export async function* onlySymbols(entries: AsyncIterable<StreamEntry>, symbols: ReadonlySet<string>): AsyncGenerator<StreamEntry> {
  for await (const e of entries) if (isOneOf(e, symbols)) yield e
}

const isOneOf = (e: StreamEntry, symbols: ReadonlySet<string>): boolean => {
  const raw = fieldValue(e.fields, "symbol")
  return raw !== undefined && symbols.has(normaliseSymbol(raw))
}

/** `--symbols AAPL,msft` as the set of normalised symbols (undefined: every symbol). */
export const parseSymbols = (text: string | undefined): ReadonlySet<string> | undefined => {
  if (text === undefined) return undefined
  const list = text.split(",").map(normaliseSymbol).filter((s) => s !== "")
  if (list.length === 0) throw new Error(`--symbols ${JSON.stringify(text)}: expected a comma-separated list such as AAPL,MSFT`)
  return new Set(list)
}

export const entriesOf = (source: ReplaySource, symbols?: ReadonlySet<string>): AsyncGenerator<StreamEntry> => {
  const all = source.kind === "file"
    ? readRecording(source.path)
    : source.kind === "stream"
      ? readStreamRange(source.redis, source.key, source.from ?? "-", source.to ?? "+")
      : readHistory(source)
  return symbols ? onlySymbols(all, symbols) : all
}

/**
 * The source as a dry run reads it: a recording in its read buffers' chunks and a stream in
 * its XRANGE replies (one await per chunk); the history entry by entry as `entriesOf` gives
 * it, since it merges several streams by entry ID (history.ts).
 */
export const replayInputOf = (source: ReplaySource, symbols?: ReadonlySet<string>): ReplayInput => {
  if (source.kind === "history") return entriesOf(source, symbols)
  const chunks = source.kind === "file"
    ? readRecordingChunks(source.path)
    : readAllChunks(source.redis, source.key, source.from ?? "-", source.to ?? "+")
  return { chunks: symbols ? onlySymbolChunks(chunks, symbols) : chunks }
}

async function* onlySymbolChunks(chunks: AsyncIterable<readonly StreamEntry[]>, symbols: ReadonlySet<string>): AsyncGenerator<StreamEntry[]> {
  for await (const chunk of chunks) {
    const kept = chunk.filter((e) => isOneOf(e, symbols))
    if (kept.length > 0) yield kept
  }
}

/** How many entries a source holds, for the progress bar (undefined when unknown cheaply). */
export const countEntries = async (source: ReplaySource): Promise<number | undefined> => {
  if (source.kind !== "stream") return undefined
  if ((source.from ?? "-") === "-" && (source.to ?? "+") === "+") return source.redis.xlen(source.key)
  return undefined
}
