/**
 * Backfill dead letters (streams/backfill-dead-letter.ts): the header is always at fixed
 * positions whatever the input's fields are called, the copy is bounded per value and per
 * entry with `truncated 1` when anything was cut, and what fits comes back unchanged.
 * Property runs are seeded. No I/O.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { deadLetterFields, MAX_COPY, MAX_VALUE, parseDeadLetter } from "../../streams/backfill-dead-letter.ts"

const field = fc.oneof(fc.constantFrom("reason", "source_id", "truncated", "error", "deliveries", "symbol"), fc.string({ maxLength: 8 }))
const input = fc.array(fc.tuple(field, fc.string({ maxLength: 40 })), { maxLength: 30 }).map((pairs) => pairs.flat())

describe("backfill dead letters", () => {
  test.prop([input, fc.string({ maxLength: 50 })], { seed: 20260107, numRuns: 2000 })("header first, copy intact when it fits", (original, error) => {
    const fields = deadLetterFields("terminal error", "1-0", error, 2, original)
    expect(fields.filter((_, i) => i % 2 === 0).slice(0, 5)).toEqual(["reason", "source_id", "truncated", "error", "deliveries"])
    const d = parseDeadLetter(fields)
    expect(d).toMatchObject({ reason: "terminal error", sourceId: "1-0", truncated: false, error, deliveries: 2 })
    expect(fields.slice(10)).toEqual(original)
  })

  it("cuts long values and long entries, and says so", () => {
    const long = deadLetterFields("r", "1-0", "e".repeat(MAX_VALUE + 10), 1, ["symbol", "x".repeat(MAX_VALUE + 1)])
    expect(parseDeadLetter(long)).toMatchObject({ truncated: true })
    expect(long[7]?.length).toBe(MAX_VALUE)
    expect(long[11]?.length).toBe(MAX_VALUE)
    const many = Array.from({ length: 10_000 }, (_, i) => [`f${i}`, "v".repeat(100)]).flat()
    const cut = deadLetterFields("r", "1-0", "e", 1, many)
    expect(parseDeadLetter(cut)?.truncated).toBe(true)
    expect(cut.slice(10).join("").length).toBeLessThanOrEqual(MAX_COPY)
    expect(deadLetterFields("r", "1-0", "e", 1, ["odd"])[5]).toBe("1")
  })

  it("refuses an entry not in the layout", () => {
    expect(parseDeadLetter(["symbol", "AAPL", "error", "x", "deliveries", "1", "source_id", "1-0"])).toBeUndefined()
  })
})
