/**
 * A series: what is stored of one symbol for one storage kind and interval (the 5min bars
 * of AAPL, the news of MSFT). Everything a backfill speaks of is a series with ranges
 * hanging off it: a provider is asked for a range of a series, coverage records ranges of
 * a series, a fetch task is a range of a series with its tier and priority. Pure types.
 */
import type { Interval } from "./data-types.ts"
import type { Range } from "./ranges.ts"
import type { StorageKind } from "./rows.ts"

/** A bar interval, or "" for the kinds without bars (news, corporate actions, sentiment). */
export type SeriesInterval = Interval | ""

export interface Series {
  readonly kind: StorageKind
  readonly symbol: string
  readonly interval: SeriesInterval
}

/** A series without its symbol: what a retention policy speaks of (the same for every symbol). */
export type SeriesOfAnySymbol = Omit<Series, "symbol">

/** One range of one series: what a provider is asked for, what coverage records. */
export type SeriesRange = Series & Range

/**
 * The key of a series of one symbol in maps and policies: kind and interval. The interval
 * is any text, as read back from a table or an object key; a policy only holds SeriesIntervals.
 */
export const seriesKey = (kind: StorageKind, interval: string): string => `${kind}|${interval}`
