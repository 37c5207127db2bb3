/**
 * Lifecycle entry wire form: what the engine writes decodes to itself; every entry that
 * breaks the contract (layers, type, event time, cause, symbol, scores, structure) is
 * refused with a reason; any field map, up to 10k fields and 1 MB values, decodes or is
 * refused, never thrown. No I/O.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { lifecycleEventType, type Layer } from "../../src/domain/layers.ts"
import { SYMBOL_PATTERN } from "../../src/domain/symbols.ts"
import { MAX_EVENT_MS, MIN_EVENT_MS } from "../../src/domain/time.ts"
import { causeEntryId, decodeLifecycleEntry, lifecycleFields, staleCause, type Transition } from "../../streams/lifecycle-wire.ts"

const T = Date.UTC(2026, 0, 5, 14, 30)
const ID = `${T}-0`
const NAMES = ["liquidity", "catalyst", "activity"]
const decode = (fields: readonly string[]) => decodeLifecycleEntry({ id: "1-0", fields })
const reason = (over: Record<string, string>) => {
  const fields = Object.entries({ type: "SymbolPromoted", symbol: "AAPL", from: "1", to: "2", at: String(T), cause: ID, liquidity: "0.9", ...over }).flat()
  const r = decode(fields)
  return r.ok ? "ok" : r.reason
}

const arbLayerPair = fc.tuple(fc.constantFrom<Layer>(0, 1, 2, 3), fc.constantFrom<Layer>(0, 1, 2, 3)).filter(([a, b]) => a !== b)
const arbTransition: fc.Arbitrary<Transition> = fc.record({
  symbol: fc.stringMatching(SYMBOL_PATTERN),
  pair: arbLayerPair,
  at: fc.integer({ min: MIN_EVENT_MS, max: MAX_EVENT_MS - 1 }),
  cause: fc.tuple(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.nat(), fc.boolean())
    .map(([ms, seq, stale]) => (stale ? staleCause(`${ms}-${seq}`) : `${ms}-${seq}`)),
  scores: fc.record({ liquidity: fc.double({ noNaN: true, noDefaultInfinity: true }), catalyst: fc.double({ noNaN: true, noDefaultInfinity: true }) }, { requiredKeys: [] })
}).map(({ pair: [from, to], ...t }) => ({ ...t, from, to }))

describe("lifecycle entry wire form", () => {
  it("writes the contract's six fields in order, then the configured scores it knows", () => {
    expect(lifecycleFields({ symbol: "AAPL", from: 0, to: 1, at: T, cause: ID, scores: { liquidity: 0.91, other: 1 } }, NAMES))
      .toEqual(["type", "SymbolQualified", "symbol", "AAPL", "from", "0", "to", "1", "at", String(T), "cause", ID, "liquidity", "0.91"])
  })

  test.prop([arbTransition], { seed: 3 })("round trip: what the engine writes decodes to itself", (t) => {
    const r = decode(lifecycleFields(t, NAMES))
    // The wire cannot carry the sign of zero: compare with what it carries.
    const scores = Object.fromEntries(Object.entries(t.scores).map(([k, v]) => [k, Number(String(v))]))
    expect(r).toEqual({ ok: true, event: { ...t, scores, type: lifecycleEventType(t.from, t.to) } })
  })

  it.each([
    [{ to: "9" }, /^invalid to "9": expected a layer 0-3/],
    [{ from: "-1" }, /^invalid from/],
    [{ from: "1.0" }, /^invalid from/],
    [{ to: "1", type: "SymbolPromoted" }, /^from and to are both 1/],
    [{ type: "SymbolQualified" }, /^type SymbolQualified does not match a move from 1 to 2 \(SymbolPromoted\)/],
    [{ type: "Promoted" }, /^invalid type/],
    [{ at: "1e20" }, /^invalid at "1e20"/],
    [{ at: "1" }, /^invalid at "1": expected ms between 1990/],
    [{ at: String(MAX_EVENT_MS) }, /^invalid at/],
    [{ at: "2026-01-05" }, /^invalid at/],
    [{ cause: "manual" }, /^invalid cause "manual": expected a stream entry ID/],
    [{ cause: "18446744073709551615-0" }, /^invalid cause .*64-bit/],
    [{ cause: "stale:18446744073709551615-0" }, /^invalid cause .*64-bit/],
    [{ cause: "stale:" }, /^invalid cause "stale:": expected a stream entry ID <ms>-<seq>, or stale:<ms>-<seq>/],
    [{ cause: "stale-1-0" }, /^invalid cause/],
    [{ cause: "Stale:1-0" }, /^invalid cause/],
    [{ symbol: "../x" }, /^invalid symbol/],
    [{ symbol: "aapl" }, /^invalid symbol/],
    [{ liquidity: "NaN" }, /^score liquidity is not a finite decimal number/],
    [{ liquidity: "1e999" }, /^score liquidity is not a finite/],
    [{ liquidity: "0x10" }, /^score liquidity is not a finite decimal/],
    [{ liquidity: "" }, /^score liquidity/],
    [{ Liquidity: "1" }, /^invalid field name "Liquidity"/],
    [{ liquidity: "9".repeat(65) }, /^value of liquidity too long/]
  ])("refuses %j with a reason", (over, expected) => {
    expect(reason(over)).toMatch(expected)
  })

  it("refuses missing and duplicate fields", () => {
    expect(decode(["type", "SymbolQualified", "symbol", "AAPL"]).ok).toBe(false)
    expect(decode(["symbol", "AAPL", "from", "0", "to", "1", "at", String(T), "cause", ID])).toEqual({ ok: false, reason: "missing type" })
    expect(decode([...lifecycleFields({ symbol: "A", from: 0, to: 1, at: T, cause: ID, scores: {} }, NAMES), "symbol", "B"]))
      .toEqual({ ok: false, reason: 'duplicate field "symbol"' })
  })

  const arbValue = fc.oneof(
    { arbitrary: fc.constantFrom("SymbolQualified", "SymbolDemoted", "AAPL", "0", "1", "3", "9", String(T), "1e20", ID, "x-y", ""), weight: 10 },
    { arbitrary: fc.string(), weight: 5 },
    { arbitrary: fc.double().map(String), weight: 5 },
    { arbitrary: fc.integer({ min: 1, max: 1 << 20 }).map((n) => "7".repeat(n)), weight: 1 }
  )
  const arbEntry = fc.oneof(
    { arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom("type", "symbol", "from", "to", "at", "cause", "liquidity"), fc.string()), arbValue), { maxLength: 12 }).map((p) => p.flat()), weight: 10 },
    // Up to 10k fields: valid contract fields, then many scores.
    { arbitrary: fc.integer({ min: 0, max: 10_000 }).map((n) => [...lifecycleFields({ symbol: "A", from: 0, to: 1, at: T, cause: ID, scores: {} }, []), ...Array.from({ length: n }, (_, i) => [`s${i}`, "1"]).flat()]), weight: 1 }
  )
  test.prop([arbEntry], { seed: 42, numRuns: 3000 })("fuzz: any entry decodes within the contract or is refused with a reason, never thrown", (fields) => {
    const r = decode(fields)
    if (!r.ok) {
      expect(r.reason.length).toBeGreaterThan(0)
      expect(r.reason.length).toBeLessThan(300)
      return
    }
    const e = r.event
    expect(e.symbol).toMatch(SYMBOL_PATTERN)
    expect(e.from).not.toBe(e.to)
    expect(e.type).toBe(lifecycleEventType(e.from, e.to))
    expect(e.at >= MIN_EVENT_MS && e.at < MAX_EVENT_MS).toBe(true)
    expect(e.cause).toMatch(/^(?:stale:)?\d+-\d+$/)
    expect(causeEntryId(e.cause)).toMatch(/^\d+-\d+$/)
    expect(() => new Date(e.at).toISOString()).not.toThrow()
    for (const v of Object.values(e.scores)) expect(Number.isFinite(v)).toBe(true)
  })
})
