/**
 * Backfill command wire form and the synthetic provider's determinism: decoding what the
 * engine writes, round-tripping what the CLI writes, naming what is wrong (event time held
 * to the CLI's bounds), any field map decoded or refused, never thrown; synthetic rows
 * independent of how a range is chunked, and no bars on weekends. No I/O.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { DATA_TYPES } from "../../config/schema.ts"
import { commandFields, decodeCommand, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { syntheticBars } from "../../src/backfill/providers/synthetic-data.ts"
import { rowsOf } from "../../src/backfill/providers/synthetic.ts"
import { owedCommand } from "../../src/engine/outputs.ts"
import type { Layer } from "../../src/domain/layers.ts"
import { SYMBOL_PATTERN } from "../../src/domain/symbols.ts"
import { DAY_MS, MAX_EVENT_MS, MIN_EVENT_MS } from "../../src/domain/time.ts"

const config = loadConfig({ env: {} })

describe("backfill command", () => {
  it("decodes the engine's fields", () => {
    const fields = commandFields(owedCommand({ symbol: "AAPL", from: 0, to: 2, at: 1767798060000, cause: "1767798060000-0", scores: {} }, config.retention)!)
    expect(decodeCommand(fields)).toEqual({
      id: "bf-1767798060000-0", symbol: "AAPL", layer: 2, from: 0,
      dataTypes: ["market_data", "intraday", "news", "corporate_actions"], at: 1767798060000, cause: "1767798060000-0", priority: 2
    })
  })

  it("round-trips what the CLI writes, in the engine's field order", () => {
    const c: BackfillCommand = { id: "bf-x", symbol: "BRK.B", layer: 3, from: 1, dataTypes: ["news"], at: 1767798060000, cause: "manual", priority: 3 }
    expect(decodeCommand(commandFields(c))).toEqual(c)
    expect(commandFields(c).filter((_, i) => i % 2 === 0)).toEqual(["id", "symbol", "layer", "from", "data_types", "at", "cause", "priority"])
  })

  it("names what is wrong", () => {
    const ok = ["symbol", "AAPL", "layer", "2", "at", "1767798060000", "data_types", "news"]
    expect(decodeCommand(ok.map((v) => (v === "AAPL" ? "a b" : v)))).toBe('invalid symbol "a b"')
    expect(decodeCommand(ok.map((v) => (v === "2" ? "4" : v)))).toBe('invalid layer "4"')
    expect(decodeCommand(ok.map((v) => (v === "1767798060000" ? "soon" : v)))).toBe('invalid at "soon"')
    expect(decodeCommand(ok.slice(0, 4))).toBe("missing data_types")
    expect(decodeCommand(ok.map((v) => (v === "news" ? "news,weather" : v)))).toBe("unknown data types weather")
    expect(decodeCommand(ok.map((v) => (v === "news" ? "" : v)))).toBe("no data_types")
  })

  it.each(["9000000000000000", "1", "0", String(MIN_EVENT_MS - 1), String(MAX_EVENT_MS)])(
    "refuses at %s: outside the CLI's event-time bounds a window names no real day", (at) => {
      expect(decodeCommand(["symbol", "HBF", "layer", "2", "at", at, "data_types", "news"])).toMatch(/^invalid at /)
    }
  )

  const arbCommand = fc.record({
    id: fc.stringMatching(/^[\x21-\x7e]{1,200}$/),
    symbol: fc.stringMatching(/^[A-Z0-9][A-Z0-9.-]{0,14}$/),
    layer: fc.constantFrom<Layer>(0, 1, 2, 3),
    from: fc.constantFrom<Layer>(0, 1, 2, 3),
    dataTypes: fc.uniqueArray(fc.constantFrom(...DATA_TYPES), { minLength: 1 }),
    at: fc.integer({ min: MIN_EVENT_MS, max: MAX_EVENT_MS - 1 }),
    cause: fc.stringMatching(/^[\x21-\x7e]{0,200}$/),
    priority: fc.integer({ min: -1000, max: 1000 })
  })

  test.prop([arbCommand], { seed: 7 })("round trip: any valid command decodes to itself", (c) => {
    expect(decodeCommand(commandFields(c))).toEqual(c)
  })

  const arbValue = fc.oneof(
    fc.string(), fc.integer().map(String), fc.double().map(String), fc.constantFrom("AAPL", "2", "news", "market_data,news", "1767798060000", "9e15", "1", "-1", ""),
    fc.string({ minLength: 1000, maxLength: 2000 })
  )
  test.prop([fc.array(fc.tuple(fc.oneof(fc.constantFrom("id", "symbol", "layer", "from", "data_types", "at", "cause", "priority"), fc.string()), arbValue), { maxLength: 20 })], { seed: 11, numRuns: 2000 })(
    "fuzz: any field map decodes to a command within bounds or to a reason, never thrown", (pairs) => {
      const r = decodeCommand(pairs.flat())
      if (typeof r === "string") {
        expect(r.length).toBeGreaterThan(0)
        expect(r.length).toBeLessThanOrEqual(400)
        return
      }
      expect(r.symbol).toMatch(SYMBOL_PATTERN)
      expect(Number.isSafeInteger(r.at) && r.at >= MIN_EVENT_MS && r.at < MAX_EVENT_MS).toBe(true)
      expect([0, 1, 2, 3]).toContain(r.layer)
      expect([0, 1, 2, 3]).toContain(r.from)
      expect(r.dataTypes.length).toBeGreaterThan(0)
      expect(Number.isSafeInteger(r.priority)).toBe(true)
      // The day folder of the window's end is a real date.
      expect(new Date(r.at).toISOString()).toMatch(/^(199\d|2[01]\d\d)-/)
    }
  )
})

describe("synthetic provider", () => {
  const start = Date.UTC(2026, 0, 1)
  test.prop([fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }), fc.constantFrom("1day", "1hour", "5min", "1min" as const)])(
    "gives the same rows however a range is chunked", (cuts, interval) => {
      const bounds = [0, ...cuts].map((_, i, a) => start + a.slice(0, i + 1).reduce((n, d) => n + d, 0) * DAY_MS)
      const whole = syntheticBars(42, "AAPL", interval, { from: bounds[0]!, to: bounds.at(-1)! })
      const parts = bounds.slice(1).flatMap((to, i) => syntheticBars(42, "AAPL", interval, { from: bounds[i]!, to }))
      expect(parts).toEqual(whole)
    }
  )

  it("has no bars on weekends and a full session on weekdays", () => {
    const sat = Date.UTC(2026, 0, 3)
    expect(syntheticBars(42, "AAPL", "1min", { from: sat, to: sat + 2 * DAY_MS })).toEqual([])
    expect(syntheticBars(42, "AAPL", "1min", { from: sat + 2 * DAY_MS, to: sat + 3 * DAY_MS })).toHaveLength(390)
    const news = rowsOf(42, { symbol: "AAPL", kind: "news", interval: "", from: sat, to: sat + 60 * DAY_MS })
    expect(news.length).toBeGreaterThan(10)
    expect(rowsOf(7, { symbol: "AAPL", kind: "bars", interval: "1day", from: sat, to: sat + 7 * DAY_MS }))
      .not.toEqual(rowsOf(42, { symbol: "AAPL", kind: "bars", interval: "1day", from: sat, to: sat + 7 * DAY_MS }))
  })
})
