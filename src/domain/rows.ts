/**
 * Rows of the public data contract (DESIGN §6): what providers return, what the hot
 * tables hold and what cold Parquet objects hold, with each kind's natural key.
 * Times are UTC milliseconds since the epoch. Pure types and key functions.
 */
import type { Interval } from "./data-types.ts"

/** Storage kinds. `market_data` and `intraday` are both bars: one table, one cold prefix, one coverage. */
export type StorageKind = "bars" | "news" | "corporate_actions" | "social_sentiment"

export interface Bar {
  readonly symbol: string
  readonly interval: Interval
  /** Bar open time. */
  readonly ts: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
  readonly vwap: number
  readonly trades: number
}

export interface NewsItem {
  readonly symbol: string
  /** The provider's article id. */
  readonly id: string
  readonly published_at: number
  readonly title: string
  readonly publisher: string
  readonly url: string
}

export interface CorporateAction {
  readonly symbol: string
  readonly kind: "split" | "dividend"
  /** Ex-date, at 00:00 UTC. */
  readonly ex_date: number
  /** Split: shares after per share before. Dividend: cash amount per share. */
  readonly value: number
}

export interface SentimentPoint {
  readonly symbol: string
  readonly source: string
  readonly ts: number
  readonly score: number
  readonly mentions: number
}

export interface RowsOf {
  readonly bars: Bar
  readonly news: NewsItem
  readonly corporate_actions: CorporateAction
  readonly social_sentiment: SentimentPoint
}

/** Natural key of a row, as one string (de-duplication across tiers). */
export const naturalKey = {
  bars: (r: Bar) => `${r.symbol}|${r.interval}|${r.ts}`,
  news: (r: NewsItem) => `${r.symbol}|${r.id}`,
  corporate_actions: (r: CorporateAction) => `${r.symbol}|${r.kind}|${r.ex_date}`,
  social_sentiment: (r: SentimentPoint) => `${r.symbol}|${r.source}|${r.ts}`
} as const

/** The event time a row is routed and tiered by. */
export const rowTime = {
  bars: (r: Bar) => r.ts,
  news: (r: NewsItem) => r.published_at,
  corporate_actions: (r: CorporateAction) => r.ex_date,
  social_sentiment: (r: SentimentPoint) => r.ts
} as const

/** Which storage kind a policy data type writes. */
export const storageKindOf = (dataType: string): StorageKind => {
  switch (dataType) {
    case "market_data":
    case "intraday":
      return "bars"
    case "news":
    case "corporate_actions":
    case "social_sentiment":
      return dataType
    default:
      throw new Error(`unknown data type "${dataType}"`)
  }
}
