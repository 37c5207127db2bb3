/**
 * Reading a recording a buffer at a time: whatever the buffer size and wherever a buffer
 * boundary falls (inside a line, inside a multi-byte character, between the `\r` and `\n`
 * of a line end), the chunks hold exactly the file's entries in order, with lines ended as
 * readline ends them, blank lines skipped, and a bad line named by its readline number.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { createReadStream } from "node:fs"
import { gzipSync } from "node:zlib"
import { afterAll, describe, expect } from "vitest"
import { fc, it } from "@fast-check/vitest"
import type { StreamEntry } from "../../streams/entry.ts"
import { formatRecordingLine, readRecording, readRecordingChunks } from "../../src/replay/file.ts"
import { chunksOf } from "../../src/replay/chunks.ts"
import { replayInputOf } from "../../src/replay/source.ts"

const dir = mkdtempSync(join(tmpdir(), "strata-chunks-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const fileWith = (text: string | Buffer, gz = false): string => {
  const path = join(dir, `r${files++}.ndjson${gz ? ".gz" : ""}`)
  writeFileSync(path, gz ? gzipSync(text) : text)
  return path
}

const collectChunks = async (path: string, bufferBytes?: number): Promise<StreamEntry[][]> => {
  const out: StreamEntry[][] = []
  for await (const c of readRecordingChunks(path, bufferBytes)) out.push(c)
  return out
}

/** The lines readline gives for the same file: the reference for ends and numbering. */
const readlineLines = async (path: string): Promise<string[]> => {
  const out: string[] = []
  for await (const l of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) out.push(l)
  return out
}

const entry = fc.record({
  id: fc.tuple(fc.nat({ max: 2 ** 40 }), fc.nat({ max: 99 })).map(([ms, seq]) => `${ms}-${seq}`),
  // Multi-byte characters and escaped line breaks inside values, so a buffer may cut a character.
  fields: fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ unit: "grapheme", maxLength: 40 })), { maxLength: 5 }).map((pairs) => pairs.flat())
})
const lineEnd = fc.constantFrom("\n", "\r\n", "\r")

describe("readRecordingChunks", () => {
  it.prop([fc.array(fc.tuple(entry, lineEnd, fc.constantFrom("", "", "\n", "  \r\n")), { maxLength: 40 }), fc.integer({ min: 1, max: 300 }), fc.boolean()], { seed: 20261202, numRuns: 200 })(
    "gives every entry once, in order, whatever the buffer size and line ends",
    async (lines, bufferBytes, lastEnded) => {
      const text = lines.map(([e, end, blank], i) => `${blank}${formatRecordingLine(e).slice(0, -1)}${i < lines.length - 1 || lastEnded ? end : ""}`).join("")
      const path = fileWith(text)
      const chunks = await collectChunks(path, bufferBytes)
      expect(chunks.every((c) => c.length > 0)).toBe(true)
      expect(chunks.flat()).toEqual(lines.map(([e]) => e))
    }
  )

  it.prop([fc.array(entry, { minLength: 1, maxLength: 20 }), fc.nat(), lineEnd, fc.integer({ min: 1, max: 64 })], { seed: 20261202, numRuns: 100 })(
    "names a bad line by the number readline gives it",
    async (entries, at, end, bufferBytes) => {
      const lines = entries.map((e) => formatRecordingLine(e).slice(0, -1))
      const bad = at % (lines.length + 1)
      lines.splice(bad, 0, "{not json")
      const path = fileWith(lines.join(end) + end)
      const number = (await readlineLines(path)).indexOf("{not json") + 1
      await expect(collectChunks(path, bufferBytes)).rejects.toThrow(new RegExp(`:${number}: not JSON`))
    }
  )

  it("reads a gzip recording and a line longer than many buffers", async () => {
    const long = { id: "1767623400000-0", fields: ["symbol", "AAPL", "note", "x".repeat(200_000)] }
    const short = { id: "1767623400000-1", fields: ["symbol", "MSFT", "liquidity", "0.5"] }
    const text = formatRecordingLine(long) + formatRecordingLine(short)
    expect((await collectChunks(fileWith(text), 1024)).flat()).toEqual([long, short])
    expect((await collectChunks(fileWith(text, true))).flat()).toEqual([long, short])
    const back: StreamEntry[] = []
    for await (const e of readRecording(fileWith(text, true))) back.push(e)
    expect(back).toEqual([long, short])
  })

  it("keeps only the asked symbols, as the engine normalises them, when a dry run reads a file", async () => {
    const at = (i: number, symbol: string) => ({ id: `1767623400000-${i}`, fields: ["symbol", symbol, "liquidity", "0.5"] })
    const all = [at(0, "AAPL"), at(1, " msft "), at(2, "NVDA"), at(3, "aapl"), at(4, "TSLA")]
    const path = fileWith(all.map(formatRecordingLine).join(""))
    const back: StreamEntry[] = []
    for await (const c of chunksOf(replayInputOf({ kind: "file", path }, new Set(["AAPL", "MSFT"])), 2)) back.push(...c)
    expect(back).toEqual([all[0], all[1], all[3]])
  })
})
