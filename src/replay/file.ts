/**
 * The recording format: NDJSON, one scores entry per line, `{"id":"<entry ID>","fields":[…]}`
 * with the flat field/value list exactly as the stream held it, gzip-compressed when the
 * file name ends in `.gz`. Reading streams the file a read buffer at a time (a recording can
 * be larger than memory) and hands out the entries of each buffer together, so that a reader
 * pays one await per buffer rather than one per entry; lines end as `readline` ends them
 * (`\n`, `\r\n` or a lone `\r`). Writing is back-pressured. Knows nothing of Redis.
 */
import { createWriteStream } from "node:fs"
import { open } from "node:fs/promises"
import { once } from "node:events"
import { StringDecoder } from "node:string_decoder"
import { createGunzip, createGzip } from "node:zlib"
import type { Readable, Writable } from "node:stream"
import type { StreamEntry } from "../../streams/entry.ts"

export const isGzip = (path: string): boolean => path.endsWith(".gz")

export class RecordingFormatError extends Error {
  override readonly name = "RecordingFormatError"
  constructor(readonly path: string, readonly line: number, detail: string) {
    super(`${path}:${line}: ${detail}`)
  }
}

const ENTRY_ID = /^\d{1,20}-\d{1,20}$/

/** Parse one line of a recording; throws RecordingFormatError naming the line. */
export const parseRecordingLine = (text: string, path: string, line: number): StreamEntry => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new RecordingFormatError(path, line, `not JSON: ${(e as Error).message}`)
  }
  const v = value as { id?: unknown; fields?: unknown }
  if (typeof v !== "object" || v === null || typeof v.id !== "string" || !ENTRY_ID.test(v.id)) {
    throw new RecordingFormatError(path, line, `expected {"id":"<ms>-<seq>","fields":[…]}`)
  }
  if (!Array.isArray(v.fields) || v.fields.length % 2 !== 0 || !v.fields.every((f) => typeof f === "string")) {
    throw new RecordingFormatError(path, line, "fields must be an even-length list of strings")
  }
  return { id: v.id, fields: v.fields as string[] }
}

export const formatRecordingLine = (entry: StreamEntry): string =>
  `${JSON.stringify({ id: entry.id, fields: entry.fields })}\n`

// The line ends readline knows.
const LINE_END = /\r\n|\n|\r/

/**
 * Entries of a recording, in file order, one array per read buffer (never empty).
 * `bufferBytes`: the read buffer's size (default: the file stream's own, 64 KiB).
 */
export async function* readRecordingChunks(path: string, bufferBytes?: number): AsyncGenerator<StreamEntry[]> {
  // Opening first turns a missing file into a plain rejection rather than a stream error event.
  const handle = await open(path, "r")
  const raw: Readable = handle.createReadStream(bufferBytes === undefined ? {} : { highWaterMark: bufferBytes })
  let input: Readable = raw
  if (isGzip(path)) {
    const gunzip = createGunzip()
    raw.on("error", (e) => gunzip.destroy(e))
    input = raw.pipe(gunzip)
  }
  const decoder = new StringDecoder("utf8")
  // The unfinished last line so far, and whether a `\r` ended the last buffer: it may be the
  // first half of a `\r\n`, so it is split only with the next buffer's first character.
  let rest = ""
  let held = false
  let n = 0
  const entriesOf = (lines: readonly string[]): StreamEntry[] => {
    const out: StreamEntry[] = []
    for (const text of lines) {
      n++
      if (text.trim() !== "") out.push(parseRecordingLine(text, path, n))
    }
    return out
  }
  try {
    for await (const buffer of input) {
      let text: string = (held ? "\r" : "") + decoder.write(buffer as Buffer)
      held = text.endsWith("\r")
      if (held) text = text.slice(0, -1)
      // Only the new text is split, so a line longer than a buffer costs its length once.
      const lines = text.split(LINE_END)
      if (lines.length === 1) {
        rest += text
        continue
      }
      lines[0] = rest + (lines[0] as string)
      rest = lines.pop() as string
      const chunk = entriesOf(lines)
      if (chunk.length > 0) yield chunk
    }
    const last = entriesOf(`${rest}${held ? "\r" : ""}${decoder.end()}`.split(LINE_END))
    if (last.length > 0) yield last
  } finally {
    raw.destroy()
  }
}

/** Entries of a recording, in file order. */
export async function* readRecording(path: string): AsyncGenerator<StreamEntry> {
  for await (const chunk of readRecordingChunks(path)) yield* chunk
}

export interface RecordingWriter {
  readonly write: (entry: StreamEntry) => Promise<void>
  readonly close: () => Promise<void>
}

/** A writer that gzips when the path ends in `.gz`; `close` resolves once the file is flushed. */
export const openRecording = (path: string): RecordingWriter => {
  const file = createWriteStream(path)
  const out: Writable = isGzip(path) ? createGzip() : file
  if (out !== file) out.pipe(file)
  let failed: Error | undefined
  const onError = (e: Error) => { failed = e }
  file.on("error", onError)
  out.on("error", onError)
  return {
    write: async (entry) => {
      if (failed) throw failed
      if (!out.write(formatRecordingLine(entry))) await once(out, "drain")
    },
    close: async () => {
      const done = once(file, "close")
      out.end()
      await done
      if (failed) throw failed
    }
  }
}
