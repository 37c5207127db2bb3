/** Data types a layer can be owed, and bar intervals: the vocabulary of the retention policy. */
export const INTERVALS = ["1day", "1hour", "5min", "1min", "tick"] as const
export type Interval = (typeof INTERVALS)[number]
export const DATA_TYPES = ["market_data", "intraday", "news", "corporate_actions", "social_sentiment"] as const
export type DataType = (typeof DATA_TYPES)[number]
