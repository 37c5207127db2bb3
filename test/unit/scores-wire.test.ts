/**
 * Input decoding of `strata:scores` entries: every field map is either a valid event or a
 * rejection with a reason; hostile input (path tricks, SQL, unicode, 10 KB values, NaN,
 * Infinity, hex, bad ts, too many fields) is rejected, never thrown.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { decodeScoresEntry } from "../../streams/scores-wire.ts"
import { SYMBOL_PATTERN } from "../../src/domain/symbols.ts"

const LIMITS = { maxFields: 32, maxValueLength: 64 }
const ID = "1767225600000-0"
const decode = (...fields: string[]) => decodeScoresEntry(ID, fields, LIMITS)
const reason = (...fields: string[]) => {
  const r = decode(...fields)
  return r.ok ? "ok" : r.reason
}

describe("scores entry decoding", () => {
  it("accepts redis-cli style entries, normalising the symbol", () => {
    expect(decode("symbol", " aapl ", "liquidity", "0.91", "catalyst", "4e-1")).toEqual({
      ok: true, symbol: "AAPL", at: 1767225600000, scores: { liquidity: 0.91, catalyst: 0.4 }
    })
  })

  it("takes event time from ts (ms or ISO-8601), else from the entry ID", () => {
    expect(decode("symbol", "A", "x", "1", "ts", "1767225600123")).toMatchObject({ at: 1767225600123 })
    expect(decode("symbol", "A", "x", "1", "ts", "2026-01-01T00:00:01Z")).toMatchObject({ at: 1767225601000 })
    expect(decode("symbol", "A", "x", "1", "ts", "2026-01-01")).toMatchObject({ at: 1767225600000 })
    expect(decode("symbol", "A", "x", "1")).toMatchObject({ at: 1767225600000 })
  })

  it("refuses an entry without ts whose hand-given ID is no event time", () => {
    expect(decodeScoresEntry("1-1", ["symbol", "A", "x", "1"], LIMITS)).toMatchObject({ ok: false, reason: expect.stringMatching(/^no ts, and the entry ID "1-1"/) })
    expect(decodeScoresEntry("1-1", ["symbol", "A", "x", "1", "ts", "1767225600000"], LIMITS)).toMatchObject({ ok: true, at: 1767225600000 })
  })

  it.each([
    [["liquidity", "0.9"], /^missing symbol/],
    [["symbol", "  ", "liquidity", "0.9"], /^empty symbol/],
    [["symbol", "../x", "liquidity", "0.9"], /^invalid symbol/],
    [["symbol", "A'; DROP TABLE companies;--", "liquidity", "0.9"], /^invalid symbol/],
    [["symbol", "ÄPPLE", "liquidity", "0.9"], /^invalid symbol/],
    [["symbol", "A".repeat(10_000), "liquidity", "0.9"], /^value of symbol too long/],
    [["symbol", "AAPL", "liquidity", "abc"], /^score liquidity is not a decimal number/],
    [["symbol", "AAPL", "liquidity", "NaN"], /^score liquidity is not a finite number/],
    [["symbol", "AAPL", "liquidity", "-Infinity"], /^score liquidity is not a finite number/],
    [["symbol", "AAPL", "liquidity", "1e999"], /^score liquidity is not a finite number/],
    [["symbol", "AAPL", "liquidity", "0x10"], /^score liquidity is not a decimal number/],
    [["symbol", "AAPL", "liquidity", ""], /^score liquidity is empty/],
    [["symbol", "AAPL", "ts", "yesterday", "liquidity", "0.9"], /^invalid ts/],
    [["symbol", "AAPL", "ts", "1700000000", "liquidity", "0.9"], /^invalid ts/],
    [["symbol", "AAPL"], /^no score fields/],
    [["symbol", "AAPL", "Liquidity", "0.9"], /^invalid field name/],
    [["symbol", "AAPL", "liquidity", "0.9", "liquidity", "0.1"], /^duplicate field/],
    [["symbol", "AAPL", ...Array.from({ length: 40 }, (_, i) => [`s${i}`, "1"]).flat()], /^too many fields/]
  ])("rejects %j with a reason", (fields, expected) => {
    expect(reason(...fields)).toMatch(expected)
  })

  test.prop([fc.array(fc.tuple(fc.oneof(fc.constantFrom("symbol", "ts", "liquidity", "catalyst"), fc.string()), fc.oneof(fc.string(), fc.double().map(String), fc.string({ unit: "grapheme" }))), { maxLength: 40 })], { numRuns: 10_000, seed: 42 })(
    "fuzz: any field map is applied or rejected with a reason, never thrown",
    (pairs) => {
      const r = decodeScoresEntry(ID, pairs.flat(), LIMITS)
      if (r.ok) {
        expect(r.symbol).toMatch(SYMBOL_PATTERN)
        expect(Number.isFinite(r.at)).toBe(true)
        expect(Object.keys(r.scores).length).toBeGreaterThan(0)
        for (const v of Object.values(r.scores)) expect(Number.isFinite(v)).toBe(true)
      } else {
        expect(r.reason.length).toBeGreaterThan(0)
      }
    }
  )

  // Entries as large as Redis accepts: up to 10k fields, values up to 1 MB, at the engine's
  // default limits. Built from a seeded size and shape; fast-check arrays that long are slow.
  const arbLarge = fc.record({
    pairs: fc.integer({ min: 0, max: 10_000 }),
    big: fc.integer({ min: 0, max: 1 << 20 }),
    at: fc.nat(),
    name: fc.constantFrom("symbol", "liquidity", "ts", "zz_extra"),
    symbolFirst: fc.boolean()
  }).map(({ pairs, big, at, name, symbolFirst }) => {
    const fields = symbolFirst ? ["symbol", "AAPL"] : []
    for (let i = 0; i < pairs; i++) fields.push(i === at % Math.max(pairs, 1) ? name : `s${i}`, i === at % Math.max(pairs, 1) ? "9".repeat(big) : "1")
    return fields
  })
  test.prop([arbLarge], { seed: 42, numRuns: 200 })(
    "fuzz: entries up to 10k fields and 1 MB values are applied or rejected with a short reason, never thrown",
    (fields) => {
      const r = decodeScoresEntry(ID, fields, { maxFields: 32, maxValueLength: 64 })
      if (r.ok) expect(Object.keys(r.scores).length).toBeLessThanOrEqual(32)
      else expect(r.reason.length).toBeLessThan(200)
    }
  )

  test.prop([fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,14}$/), fc.double({ noNaN: true, noDefaultInfinity: true })])(
    "round trip: a valid symbol and finite score as redis-cli would send them decode to themselves",
    (symbol, score) => {
      const r = decode("symbol", symbol, "liquidity", String(score))
      // String(-0) is "0": the wire cannot carry the sign of zero, so compare with what it carries.
      expect(r).toEqual({ ok: true, symbol: symbol.toUpperCase(), at: 1767225600000, scores: { liquidity: Number(String(score)) } })
    }
  )
})
