/**
 * Adjusted bars (domain/adjust.ts), without I/O: a known 4:1 split and a known cash
 * dividend give the expected series, actions compound, and seeded properties: `none`
 * returns the raw bars themselves; undoing the split steps gives the raw prices back; a
 * bar's factor depends only on the actions after it, not on which bars are read with it.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { adjustSteps, barAdjuster, type Adjust } from "../../src/domain/adjust.ts"
import type { Bar, CorporateAction } from "../../src/domain/rows.ts"
import { DAY_MS } from "../../src/domain/time.ts"

const D0 = Date.UTC(2024, 0, 1)
const bar = (day: number, close: number, volume = 1000): Bar => ({
  symbol: "AAPL", interval: "1day", ts: D0 + day * DAY_MS,
  open: close - 1, high: close + 2, low: close - 2, close, volume, vwap: close + 0.5, trades: 10
})
const split = (day: number, value: number): CorporateAction => ({ symbol: "AAPL", kind: "split", ex_date: D0 + day * DAY_MS, value })
const dividend = (day: number, value: number): CorporateAction => ({ symbol: "AAPL", kind: "dividend", ex_date: D0 + day * DAY_MS, value })
const adjusted = (bars: readonly Bar[], actions: readonly CorporateAction[], mode: Adjust, closes = new Map<number, number>()) =>
  bars.map(barAdjuster(adjustSteps(actions, mode, closes).steps))

describe("adjusted bars", () => {
  const bars = [bar(0, 400), bar(1, 404), bar(2, 101), bar(3, 102)]

  it("a 4:1 split divides the prices before the ex-date by 4 and multiplies their volume by 4", () => {
    const out = adjusted(bars, [split(2, 4)], "splits")
    expect(out.slice(0, 2)).toEqual([
      { ...bars[0], open: 399 / 4, high: 402 / 4, low: 398 / 4, close: 100, vwap: 400.5 / 4, volume: 4000 },
      { ...bars[1], open: 403 / 4, high: 406 / 4, low: 402 / 4, close: 101, vwap: 404.5 / 4, volume: 4000 }
    ])
    // The ex-date's bar and later ones trade after the split: as stored.
    expect(out.slice(2)).toEqual(bars.slice(2))
  })

  it("a cash dividend scales earlier prices by 1 - dividend / close before the ex-date; splits ignores it", () => {
    const actions = [dividend(2, 4)]
    const closes = new Map([[D0 + 2 * DAY_MS, 404]])
    const f = 1 - 4 / 404
    const out = adjusted(bars, actions, "all", closes)
    expect(out[0]!.close).toBeCloseTo(400 * f, 12)
    expect(out[1]!.close).toBeCloseTo(404 * f, 12)
    expect(out[1]!.open).toBeCloseTo(403 * f, 12)
    expect(out[0]!.volume).toBe(1000)
    expect(out.slice(2)).toEqual(bars.slice(2))
    expect(adjusted(bars, actions, "splits", closes)).toEqual(bars)
  })

  it("compounds actions: both apply before the earlier ex-date, only the later one between them", () => {
    const out = adjusted(bars, [split(1, 2), split(3, 3), dividend(2, 1)], "all", new Map([[D0 + 2 * DAY_MS, 202]]))
    const f = 1 - 1 / 202
    expect(out[0]!.close).toBeCloseTo(400 / 2 / 3 * f, 10)
    expect(out[0]!.volume).toBeCloseTo(6000, 9)
    expect(out[1]!.close).toBeCloseTo(404 / 3 * f, 10)
    expect(out[2]!.close).toBeCloseTo(101 / 3, 10)
    expect(out[3]).toEqual(bars[3])
  })

  it("skips what it cannot apply, saying why", () => {
    const { steps, skipped } = adjustSteps([dividend(2, 1), split(1, 0), dividend(3, 500)], "all", new Map([[D0 + 3 * DAY_MS, 100]]))
    expect(steps).toEqual([])
    expect(skipped.map((s) => s.reason)).toEqual([
      "no bar before the ex-date to take the close from",
      "split ratio 0 is not a positive number",
      "dividend 500 is not between 0 and the close 100"
    ])
  })
})

const arbBars = fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }).chain((days) =>
  fc.tuple(...days.sort((a, b) => a - b).map((d) => fc.double({ min: 1, max: 1000, noNaN: true }).map((c) => bar(d, c)))))
const arbActions = fc.array(fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 400 }), fc.constantFrom(2, 3, 4, 1.5, 0.5, 10)).map(([d, v]) => split(d, v)),
  fc.tuple(fc.integer({ min: 0, max: 400 }), fc.double({ min: 0.01, max: 0.9, noNaN: true })).map(([d, v]) => dividend(d, v))
), { maxLength: 8 }).map((as) => {
  // The natural key is (symbol, kind, ex_date): one action of a kind per day.
  const seen = new Set<string>()
  return as.filter((a) => !seen.has(`${a.kind}|${a.ex_date}`) && seen.add(`${a.kind}|${a.ex_date}`))
})

describe("adjusted bars, properties", () => {
  test.prop([arbBars, arbActions], { seed: 20240115, numRuns: 300 })("none returns the raw bars themselves", (bars, actions) => {
    const closes = new Map(actions.map((a) => [a.ex_date, 1000] as const))
    const out = adjusted(bars, actions, "none", closes)
    out.forEach((b, i) => expect(b).toBe(bars[i]))
  })

  test.prop([arbBars, arbActions], { seed: 20240116, numRuns: 300 })("undoing the later splits gives the raw prices and volume back", (bars, actions) => {
    const out = adjusted(bars, actions, "splits")
    out.forEach((b, i) => {
      const raw = bars[i]!
      const ratio = actions.filter((a) => a.kind === "split" && a.ex_date > raw.ts).reduce((r, a) => r * a.value, 1)
      expect(b.close * ratio).toBeCloseTo(raw.close, 6)
      expect(b.volume / ratio).toBeCloseTo(raw.volume, 6)
      expect(b.ts).toBe(raw.ts)
      expect(b.trades).toBe(raw.trades)
    })
  })

  test.prop([arbBars, arbActions, fc.integer({ min: 0, max: 59 })], { seed: 20240117, numRuns: 300 })(
    "a bar is adjusted the same whichever bars are read with it (pages agree)", (bars, actions, cut) => {
      const closes = new Map(actions.map((a) => [a.ex_date, 1000] as const))
      const whole = adjusted(bars, actions, "all", closes)
      const paged = [...adjusted(bars.slice(0, cut), actions, "all", closes), ...adjusted(bars.slice(cut), actions, "all", closes)]
      expect(paged).toEqual(whole)
    })
})
