/**
 * Dead-letter entries: the engine's header at fixed positions whatever the input holds
 * (fields named reason, source_id or truncated cannot pass for the engine's), a copy
 * bounded per value and per entry with the truncation marked, and a parser that reads the
 * header by position. Entries up to 10k fields and 1 MB values. No I/O.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { DEAD_LETTER_CAPS, deadLetterFields, parseDeadLetter } from "../../streams/dead-letter.ts"

const ID = "1767225600000-0"
const caps = DEAD_LETTER_CAPS

describe("dead letters", () => {
  it("puts the engine's header first; input fields named like it stay in the copy", () => {
    const fields = ["reason", "forged", "source_id", "0-1", "truncated", "0", "symbol", "AAPL"]
    const d = deadLetterFields({ id: ID, fields }, "no score fields")
    expect(d.slice(0, 6)).toEqual(["reason", "no score fields", "source_id", ID, "truncated", "0"])
    expect(parseDeadLetter(d)).toEqual({ reason: "no score fields", sourceId: ID, truncated: false, extra: {}, original: fields })
  })

  it("places a writer's extra engine fields after the header and parses them by name", () => {
    const d = deadLetterFields({ id: ID, fields: ["error", "forged"] }, "gave up", ["error", "HTTP 500", "deliveries", "5"])
    expect(parseDeadLetter(d, ["error", "deliveries"])).toMatchObject({ extra: { error: "HTTP 500", deliveries: "5" }, original: ["error", "forged"] })
    expect(parseDeadLetter(d, ["deliveries"])).toBeUndefined()
  })

  it("refuses an entry whose header is not where the contract puts it", () => {
    expect(parseDeadLetter(["symbol", "A", "reason", "x", "source_id", ID, "truncated", "0"])).toBeUndefined()
    expect(parseDeadLetter(["reason", "x", "source_id", ID, "truncated", "maybe"])).toBeUndefined()
  })

  it("keeps a bounded copy of a 10k-field entry with a 1 MB value, marked truncated", () => {
    const fields = ["symbol", "X".repeat(1 << 20), ...Array.from({ length: 10_000 }, (_, i) => [`s${i}`, "1"]).flat()]
    const d = deadLetterFields({ id: ID, fields }, "too many fields")
    const letter = parseDeadLetter(d)
    expect(letter?.truncated).toBe(true)
    expect(letter?.original.slice(0, 1)).toEqual(["symbol"])
    expect(letter?.original[1]).toBe("X".repeat(caps.maxValueLength))
    expect(letter!.original.length).toBeLessThanOrEqual(2 * caps.maxPairs)
  })

  it("never cuts inside a surrogate pair", () => {
    const d = deadLetterFields({ id: ID, fields: ["v", `${"a".repeat(caps.maxValueLength - 1)}😀`] }, "x")
    expect(d[7]).toBe("a".repeat(caps.maxValueLength - 1))
  })

  const arbField = fc.oneof(
    { arbitrary: fc.string({ maxLength: 40 }), weight: 20 },
    { arbitrary: fc.constantFrom("reason", "source_id", "truncated"), weight: 4 },
    { arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }), weight: 4 },
    { arbitrary: fc.integer({ min: 1, max: 1 << 20 }).map((n) => "v".repeat(n)), weight: 1 }
  )
  const arbEntry = fc.oneof(
    { arbitrary: fc.array(fc.tuple(arbField, arbField), { maxLength: 40 }).map((p) => p.flat()), weight: 8 },
    // Up to 10k fields of small values: generated directly, fast-check arrays that long are slow.
    { arbitrary: fc.integer({ min: 0, max: 10_000 }).map((n) => Array.from({ length: n }, (_, i) => [`f${i}`, String(i)]).flat()), weight: 1 }
  )

  test.prop([arbEntry, fc.string({ maxLength: 2000 })], { seed: 42, numRuns: 300 })(
    "any entry: header by position, copy bounded, a prefix of the input, truncated exactly when cut",
    (fields, reason) => {
      const d = deadLetterFields({ id: ID, fields }, reason)
      const letter = parseDeadLetter(d)
      expect(letter).toBeDefined()
      expect(letter!.sourceId).toBe(ID)
      expect(letter!.reason).toBe(reason.slice(0, caps.maxValueLength).replace(/[\uD800-\uDBFF]$/, ""))
      const copy = letter!.original
      expect(copy.length).toBeLessThanOrEqual(2 * caps.maxPairs)
      expect(copy.reduce((n, v) => n + v.length, 0)).toBeLessThanOrEqual(caps.maxCopyLength)
      for (const [i, v] of copy.entries()) {
        expect(v.length).toBeLessThanOrEqual(caps.maxValueLength)
        expect((fields[i] as string).startsWith(v)).toBe(true)
      }
      const whole = copy.length === fields.length && copy.every((v, i) => v === fields[i])
      expect(letter!.truncated).toBe(!whole)
    }
  )
})
