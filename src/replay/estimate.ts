/**
 * An estimate of the provider requests a backfill command costs when nothing is held yet:
 * per data type owed, per interval, the layer's window (cold days, the longest) split
 * into pages of at most PAGE_ROWS rows at the interval's bars per trading day; one paged
 * request per window for non-bar data. The planner subtracts coverage already held, so
 * real counts are lower; the estimate serves to compare two configurations.
 * Pure.
 */
import type { DataType, Interval, RetentionPolicy } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"

/** Rows per request of a Polygon-style aggregates endpoint. */
export const PAGE_ROWS = 50_000
const TRADING_DAYS_PER_YEAR = 252
/** Bars per trading day (6.5 regular hours); ticks are estimated as one request per day. */
const BARS_PER_DAY: Record<Interval, number> = { "1day": 1, "1hour": 7, "5min": 78, "1min": 390, tick: PAGE_ROWS }

const tradingDays = (calendarDays: number): number => Math.ceil((calendarDays * TRADING_DAYS_PER_YEAR) / 365)

export const estimateRequests = (policy: RetentionPolicy, layer: Layer, dataTypes: readonly string[]): number => {
  const byType = policy[`L${layer}`] as Partial<Record<DataType, RetentionPolicy["L1"]["market_data"]>>
  let total = 0
  for (const dt of dataTypes) {
    const p = byType[dt as DataType]
    if (!p) continue
    const hot = typeof p.hot_days === "number" ? p.hot_days : Math.max(0, ...Object.values(p.hot_days).map(Number))
    const days = tradingDays(Math.max(hot, p.cold_days))
    if (days === 0) continue
    const intervals = p.intervals ?? []
    if (intervals.length === 0) {
      total += 1
      continue
    }
    for (const iv of intervals) total += Math.max(1, Math.ceil((days * BARS_PER_DAY[iv]) / PAGE_ROWS))
  }
  return total
}
