/**
 * Split- and dividend-adjusted bars, computed on read from the stored corporate actions
 * (back-adjustment: the latest prices stay as traded, earlier ones are scaled so that the
 * series has no jump at an ex-date):
 *   - a split of `value` (shares after per share before) divides the prices of every bar
 *     before its ex-date by `value` and multiplies their volume by it;
 *   - with `all`, a cash dividend of `value` multiplies the prices of every bar before its
 *     ex-date by (1 − value / close), `close` being the last raw close before the ex-date
 *     (the usual back-adjustment factor); volume is unchanged.
 * A bar's factor is the product of the steps of every action whose ex-date is after the
 * bar's time, so it depends only on the stored actions, never on the range read: pages of
 * one read are adjusted alike, and an action recorded later changes the adjusted read
 * without any stored bar being rewritten. `none` returns the raw bars themselves.
 * Pure: the closes before ex-dates are given by the caller (storage/adjusted-read.ts).
 */
import type { Bar, CorporateAction } from "./rows.ts"

export const ADJUST_MODES = ["none", "splits", "all"] as const
export type Adjust = (typeof ADJUST_MODES)[number]

export const isAdjust = (s: string): s is Adjust => (ADJUST_MODES as readonly string[]).includes(s)

/** Bars before `exDate` get prices × `price` and volume × `volume`. */
export interface AdjustStep {
  readonly exDate: number
  readonly price: number
  readonly volume: number
}

export interface AdjustSteps {
  /** Ordered by ex-date; one step per ex-date (actions of one day combined). */
  readonly steps: readonly AdjustStep[]
  /** Actions that could not be applied, with why (a dividend without a close before it, a value out of range). */
  readonly skipped: readonly { readonly action: CorporateAction; readonly reason: string }[]
}

/** The dividends whose factor needs the close before their ex-date. */
export const dividendsOf = (actions: readonly CorporateAction[], mode: Adjust): CorporateAction[] =>
  mode === "all" ? actions.filter((a) => a.kind === "dividend") : []

/** The steps of `mode` from a symbol's actions; `closeBefore` maps an ex-date to the last raw close before it. */
export const adjustSteps = (
  actions: readonly CorporateAction[], mode: Adjust, closeBefore: ReadonlyMap<number, number>
): AdjustSteps => {
  const byDate = new Map<number, { price: number; volume: number }>()
  const skipped: { action: CorporateAction; reason: string }[] = []
  if (mode === "none") return { steps: [], skipped }
  const apply = (exDate: number, price: number, volume: number) => {
    const s = byDate.get(exDate) ?? { price: 1, volume: 1 }
    byDate.set(exDate, { price: s.price * price, volume: s.volume * volume })
  }
  for (const a of actions) {
    if (a.kind === "split") {
      if (Number.isFinite(a.value) && a.value > 0) apply(a.ex_date, 1 / a.value, a.value)
      else skipped.push({ action: a, reason: `split ratio ${a.value} is not a positive number` })
    } else if (mode === "all") {
      const close = closeBefore.get(a.ex_date)
      if (close === undefined) skipped.push({ action: a, reason: "no bar before the ex-date to take the close from" })
      else if (!(a.value > 0 && a.value < close)) skipped.push({ action: a, reason: `dividend ${a.value} is not between 0 and the close ${close}` })
      else apply(a.ex_date, 1 - a.value / close, 1)
    }
  }
  const steps = [...byDate].map(([exDate, s]) => ({ exDate, ...s })).sort((a, b) => a.exDate - b.exDate)
  return { steps, skipped }
}

/** A function adjusting one bar by `steps`; the identity (same object) where no step applies. */
export const barAdjuster = (steps: readonly AdjustStep[]): ((bar: Bar) => Bar) => {
  if (steps.length === 0) return (bar) => bar
  // suffix[i]: the product of steps i.. (the factor of a bar before steps[i].exDate and after the one before).
  const price: number[] = new Array<number>(steps.length + 1).fill(1)
  const volume: number[] = new Array<number>(steps.length + 1).fill(1)
  for (let i = steps.length - 1; i >= 0; i--) {
    price[i] = price[i + 1]! * steps[i]!.price
    volume[i] = volume[i + 1]! * steps[i]!.volume
  }
  return (bar) => {
    // The first step whose ex-date is after the bar (binary search: steps are ordered).
    let lo = 0
    let hi = steps.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (steps[mid]!.exDate > bar.ts) hi = mid
      else lo = mid + 1
    }
    if (lo === steps.length) return bar
    const p = price[lo]!
    const v = volume[lo]!
    return {
      ...bar, open: bar.open * p, high: bar.high * p, low: bar.low * p, close: bar.close * p, vwap: bar.vwap * p, volume: bar.volume * v
    }
  }
}
