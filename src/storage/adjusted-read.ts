/**
 * What an adjusted read of bars needs from storage: the symbol's corporate actions (both
 * tiers, all of them: a bar's factor depends on every later ex-date, not on the range
 * read) and, for dividends, the last raw close of the same series before each ex-date.
 * Returns the bar adjuster of domain/adjust.ts; the readers (CLI, HTTP) apply it to the
 * rows the read router streams, so paging and streaming are unchanged.
 * Does not store anything adjusted: stored bars stay raw.
 */
import { adjustSteps, barAdjuster, dividendsOf, type Adjust, type AdjustSteps } from "../domain/adjust.ts"
import type { Bar } from "../domain/rows.ts"
import { DAY_MS } from "../domain/time.ts"
import { corporateActions, seriesChunks } from "./read-router.ts"
import type { StorageDeps } from "./write-router.ts"

// How far before an ex-date the close is looked for: past weekends and holiday runs.
const CLOSE_LOOKBACK_MS = 14 * DAY_MS

/** The last raw bar of a series before `t` (within the lookback), if any. */
const closeBefore = async (deps: StorageDeps, symbol: string, interval: string, t: number): Promise<number | undefined> => {
  let last: Bar | undefined
  for await (const rows of seriesChunks(deps, "bars", symbol, interval, t - CLOSE_LOOKBACK_MS, t)) last = rows.at(-1) ?? last
  return last?.close
}

export interface SeriesAdjustment extends AdjustSteps {
  readonly adjust: (bar: Bar) => Bar
}

/** The adjustment of one bar series under `mode`, from what is stored now. */
export const seriesAdjustment = async (deps: StorageDeps, symbol: string, interval: string, mode: Adjust): Promise<SeriesAdjustment> => {
  if (mode === "none") return { steps: [], skipped: [], adjust: (bar) => bar }
  const actions = await corporateActions(deps, symbol, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)
  const closes = new Map<number, number>()
  for (const d of dividendsOf(actions, mode)) {
    const close = await closeBefore(deps, symbol, interval, d.ex_date)
    if (close !== undefined) closes.set(d.ex_date, close)
  }
  const steps = adjustSteps(actions, mode, closes)
  return { ...steps, adjust: barAdjuster(steps.steps) }
}
