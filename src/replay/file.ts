/**
 * The recording format: NDJSON, one scores entry per line, `{"id":"<entry ID>","fields":[…]}`
 * with the flat field/value list exactly as the stream held it, gzip-compressed when the
 * file name ends in `.gz`. Reading streams the file line by line (a recording can be larger
 * than memory); writing is back-pressured. Knows nothing of Redis.
 */
import { createWriteStream } from "node:fs"
import { open } from "node:fs/promises"
import { once } from "node:events"
import { createInterface } from "node:readline"
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

/** Entries of a recording, in file order. */
export async function* readRecording(path: string): AsyncGenerator<StreamEntry> {
  // Opening first turns a missing file into a plain rejection rather than a stream error event.
  const handle = await open(path, "r")
  const raw: Readable = handle.createReadStream()
  let input: Readable = raw
  if (isGzip(path)) {
    const gunzip = createGunzip()
    raw.on("error", (e) => gunzip.destroy(e))
    input = raw.pipe(gunzip)
  }
  const lines = createInterface({ input, crlfDelay: Infinity })
  let n = 0
  try {
    for await (const text of lines) {
      n++
      if (text.trim() === "") continue
      yield parseRecordingLine(text, path, n)
    }
  } finally {
    lines.close()
    raw.destroy()
  }
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
