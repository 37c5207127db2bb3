/**
 * The installed Redis client carries the project's patch to its reply decoder (patches/,
 * applied by patch-package on install): the decoder's private fields are plain properties
 * rather than TypeScript's WeakMap-based ones, which made decoding about twice as slow
 * (docs/bench.md "Redis reply decoding"). The decoder must still decode every reply as
 * before: any RESP3 value, cut into chunks anywhere, comes back whole, under the type
 * mapping ioredis uses (strings as Buffers, maps as flat arrays) and with strings mapped
 * to String.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Decoder, RESP_TYPES } from "ioredis/built/resp/decoder.js"

const FILE = fileURLToPath(new URL("../../node_modules/ioredis/built/resp/decoder.js", import.meta.url))

/** A RESP3 value of the kinds replies carry, and what the decoder should give for it. */
type Value =
  | { kind: "null" } | { kind: "bool"; v: boolean } | { kind: "int"; v: number } | { kind: "big"; v: bigint }
  | { kind: "double"; text: string } | { kind: "simple"; v: string } | { kind: "blob"; v: string }
  | { kind: "array"; items: Value[] } | { kind: "set"; items: Value[] } | { kind: "map"; pairs: [Value, Value][] }

const simpleText = fc.string({ unit: fc.constantFrom(..."abcXYZ019 _-:{}é€".split("")), maxLength: 12 })
const leaf: fc.Arbitrary<Value> = fc.oneof(
  fc.constant({ kind: "null" as const }),
  fc.boolean().map((v) => ({ kind: "bool" as const, v })),
  // Within 2^48: the decoder builds integers in floating point, digit by digit.
  fc.integer({ min: -(2 ** 48), max: 2 ** 48 }).map((v) => ({ kind: "int" as const, v })),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((v) => ({ kind: "big" as const, v })),
  fc.constantFrom("3.25", "-0.5", "1e+20", "10", "inf", "-inf").map((text) => ({ kind: "double" as const, text })),
  simpleText.map((v) => ({ kind: "simple" as const, v })),
  // Blob strings may hold CR, LF and any character.
  fc.string({ unit: "binary", maxLength: 40 }).map((v) => ({ kind: "blob" as const, v }))
)
const value: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof({ depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("v"), { maxLength: 5 }).map((items) => ({ kind: "array" as const, items })),
    fc.array(tie("v"), { maxLength: 4 }).map((items) => ({ kind: "set" as const, items })),
    fc.array(fc.tuple(leaf, tie("v")), { maxLength: 4 }).map((pairs) => ({ kind: "map" as const, pairs })))
})).v

const encode = (x: Value): string => {
  switch (x.kind) {
    case "null": return "_\r\n"
    case "bool": return `#${x.v ? "t" : "f"}\r\n`
    case "int": return `:${x.v}\r\n`
    case "big": return `(${x.v}\r\n`
    case "double": return `,${x.text}\r\n`
    case "simple": return `+${x.v}\r\n`
    case "blob": return `$${Buffer.byteLength(x.v)}\r\n${x.v}\r\n`
    case "array": return `*${x.items.length}\r\n${x.items.map(encode).join("")}`
    case "set": return `~${x.items.length}\r\n${x.items.map(encode).join("")}`
    case "map": return `%${x.pairs.length}\r\n${x.pairs.map(([k, v]) => encode(k) + encode(v)).join("")}`
  }
}

/** What ioredis' mapping gives, strings already converted from Buffers. */
const expected = (x: Value): unknown => {
  switch (x.kind) {
    case "null": return null
    case "bool": return x.v ? 1 : 0
    case "int": return x.v
    case "big": return String(x.v)
    case "double": return x.text
    case "simple": case "blob": return x.v
    case "array": case "set": return x.items.map(expected)
    case "map": return x.pairs.flatMap(([k, v]) => [expected(k), expected(v)])
  }
}

const IOREDIS_MAPPING = {
  [RESP_TYPES.SIMPLE_STRING]: Buffer, [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.VERBATIM_STRING]: Buffer,
  [RESP_TYPES.BIG_NUMBER]: String, [RESP_TYPES.DOUBLE]: Buffer, [RESP_TYPES.BOOLEAN]: Number,
  [RESP_TYPES.MAP]: Array, [RESP_TYPES.SET]: Array
}
const STRING_MAPPING = { ...IOREDIS_MAPPING, [RESP_TYPES.SIMPLE_STRING]: String, [RESP_TYPES.BLOB_STRING]: String, [RESP_TYPES.DOUBLE]: String }

const strings = (v: unknown): unknown =>
  Buffer.isBuffer(v) ? v.toString() : Array.isArray(v) ? v.map(strings) : v

/** Decode `bytes` cut at `cuts`, as a socket may deliver them. */
const decodeCut = (bytes: Buffer, cuts: number[], mapping: Record<number, unknown>): unknown[] => {
  const replies: unknown[] = []
  const decoder = new Decoder({
    getTypeMapping: () => mapping as never,
    onReply: (r: unknown) => { replies.push(strings(r)) },
    onErrorReply: (e: Error) => { replies.push({ error: e.message }) },
    onPush: () => { throw new Error("no push expected") }
  } as never)
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let from = 0
  for (const c of [...at, bytes.length]) {
    if (c > from) decoder.write(bytes.subarray(from, c))
    from = Math.max(from, c)
  }
  return replies
}

describe("ioredis reply decoder patch", () => {
  it("is applied: no WeakMap-based private fields left in the decoder", () => {
    const text = readFileSync(FILE, "utf8")
    expect(text).not.toMatch(/__classPrivateField(Get|Set)\(this,/)
    expect(text).toContain("this._cursor = 0;")
  })

  it("decodes any reply, cut anywhere, under ioredis' mapping and with strings mapped to String", () => {
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (values, cuts) => {
      const bytes = Buffer.from(values.map(encode).join(""))
      const want = values.map(expected)
      expect(decodeCut(bytes, cuts, IOREDIS_MAPPING)).toEqual(want)
      expect(decodeCut(bytes, cuts, STRING_MAPPING)).toEqual(want)
    }), { seed: 20261202, numRuns: 1500 })
  })

  it("decodes error replies between values, cut one byte at a time", () => {
    const bytes = Buffer.from(`+OK\r\n-ERR no such key\r\n!22\r\nSYNTAX invalid\r\nsyntax\r\n:7\r\n`)
    const cuts = Array.from({ length: bytes.length }, (_, i) => i)
    expect(decodeCut(bytes, cuts, IOREDIS_MAPPING)).toEqual(["OK", { error: "ERR no such key" }, { error: "SYNTAX invalid\r\nsyntax" }, 7])
  })
})
