/**
 * An estimate of the provider requests a backfill command costs when nothing is held yet:
 * per data type owed, per interval, the layer's window (cold days, the longest) split
 * into pages of at most PAGE_ROWS rows at the interval's bars per trading day; one paged
 * request per window for non-bar data. The planner subtracts coverage already held, so
 * real counts are lower; the estimate serves to compare two configurations.
 * Pure.
 */
import { policyWindows } from "../../config/retention.ts"
import type { DataType, Interval, RetentionPolicy } from "../../config/schema.ts"
import { DATA_TYPES } from "../domain/data-types.ts"
import type { Layer } from "../domain/layers.ts"
import { DAY_MS } from "../domain/time.ts"

/** Rows per request of a Polygon-style aggregates endpoint. */
export const PAGE_ROWS = 50_000
const TRADING_DAYS_PER_YEAR = 252
/** Bars per trading day (6.5 regular hours); ticks are estimated as one request per day. */
const BARS_PER_DAY: Record<Interval, number> = { "1day": 1, "1hour": 7, "5min": 78, "1min": 390, tick: PAGE_ROWS }

const tradingDays = (calendarDays: number): number => Math.ceil((calendarDays * TRADING_DAYS_PER_YEAR) / 365)

export const estimateRequests = (policy: RetentionPolicy, layer: Layer, dataTypes: readonly string[]): number => {
  let total = 0
  // Each data type on its own, as a command names them (config/retention.ts reads the policy).
  for (const dt of dataTypes) {
    if (!(DATA_TYPES as readonly string[]).includes(dt)) continue
    for (const w of policyWindows(policy, layer, [dt as DataType], 0).values()) {
      const days = tradingDays((w.to - w.from) / DAY_MS)
      total += w.interval === "" ? 1 : Math.max(1, Math.ceil((days * BARS_PER_DAY[w.interval]) / PAGE_ROWS))
    }
  }
  return total
}
