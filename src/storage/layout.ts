/**
 * Cold object layout: which object a row belongs to, and which time span an object key
 * covers (so the read path opens only overlapping objects and tiering finds expired ones
 * without opening any).
 *
 *   bars               market_data/{SYMBOL}/{interval}/{YYYY}[/{MM}[/{DD}]]/data.parquet
 *                        1day → one object per year, 1hour → per month, 5min/1min/tick → per day
 *   news               news/{SYMBOL}/{YYYY}/{MM}/data.parquet               (per month)
 *   corporate_actions  corporate_actions/{SYMBOL}/{YYYY}/data.parquet       (per year)
 *   social_sentiment   social_sentiment/{SYMBOL}/{YYYY}/{MM}/data.parquet   (per month)
 *
 * Coarse intervals get coarse folders so that no object holds a handful of rows (a year of
 * daily bars is ~250 rows; a day of 1-minute bars is ~390-1440). Pure: no I/O.
 */
import type { StorageKind } from "../domain/rows.ts"

export type Period = "year" | "month" | "day"

/** The folder name of each kind; bars from `market_data` and `intraday` share one. */
export const COLD_PREFIX: { readonly [K in StorageKind]: string } = {
  bars: "market_data", news: "news", corporate_actions: "corporate_actions", social_sentiment: "social_sentiment"
}

export const periodOf = (kind: StorageKind, interval: string): Period => {
  if (kind === "bars") {
    if (interval === "1day") return "year"
    if (interval === "1hour") return "month"
    return "day"
  }
  return kind === "corporate_actions" ? "year" : "month"
}

const pad = (n: number) => String(n).padStart(2, "0")

/** The folder holding all objects of one series: `market_data/AAPL/1day/`, `news/AAPL/`. */
export const seriesPrefix = (kind: StorageKind, symbol: string, interval: string): string =>
  kind === "bars" ? `${COLD_PREFIX[kind]}/${symbol}/${interval}/` : `${COLD_PREFIX[kind]}/${symbol}/`

/** Start (ms) of the period holding `ms`. */
export const periodStart = (period: Period, ms: number): number => {
  const d = new Date(ms)
  const y = d.getUTCFullYear()
  if (period === "year") return Date.UTC(y, 0, 1)
  if (period === "month") return Date.UTC(y, d.getUTCMonth(), 1)
  return Date.UTC(y, d.getUTCMonth(), d.getUTCDate())
}

/** End (exclusive, ms) of the period starting at `start`. */
export const periodEnd = (period: Period, start: number): number => {
  const d = new Date(start)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  if (period === "year") return Date.UTC(y + 1, 0, 1)
  if (period === "month") return Date.UTC(y, m + 1, 1)
  return Date.UTC(y, m, d.getUTCDate() + 1)
}

/** The key of the object holding a row at `ms`. */
export const objectKey = (kind: StorageKind, symbol: string, interval: string, ms: number): string => {
  const period = periodOf(kind, interval)
  const d = new Date(ms)
  const parts = [String(d.getUTCFullYear()).padStart(4, "0")]
  if (period !== "year") parts.push(pad(d.getUTCMonth() + 1))
  if (period === "day") parts.push(pad(d.getUTCDate()))
  return `${seriesPrefix(kind, symbol, interval)}${parts.join("/")}/data.parquet`
}

/** The time span [from, to) an object key covers, undefined when the key is not ours. */
export const objectSpan = (kind: StorageKind, interval: string, key: string): { from: number; to: number } | undefined => {
  const m = /\/(\d{4})(?:\/(\d{2}))?(?:\/(\d{2}))?\/data\.parquet$/.exec(key)
  if (!m) return undefined
  const period = periodOf(kind, interval)
  const expected = period === "year" ? 1 : period === "month" ? 2 : 3
  const got = m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1
  if (got !== expected) return undefined
  const from = Date.UTC(Number(m[1]), m[2] ? Number(m[2]) - 1 : 0, m[3] ? Number(m[3]) : 1)
  return { from, to: periodEnd(period, from) }
}

/** Keys of one series whose span overlaps [from, to), from a listing of the series. */
export const overlappingKeys = (
  kind: StorageKind, interval: string, keys: readonly string[], from: number, to: number
): string[] =>
  keys.filter((k) => {
    const span = objectSpan(kind, interval, k)
    return span !== undefined && span.to > from && span.from < to
  })

/** The series (symbol, interval) an object key belongs to, undefined when the key is not ours. */
export const seriesOfKey = (kind: StorageKind, key: string): { symbol: string; interval: string } | undefined => {
  const parts = key.split("/")
  if (parts[0] !== COLD_PREFIX[kind] || parts[parts.length - 1] !== "data.parquet" || !parts[1]) return undefined
  const interval = kind === "bars" ? parts[2] ?? "" : ""
  if (kind === "bars" && interval === "") return undefined
  return objectSpan(kind, interval, key) ? { symbol: parts[1], interval } : undefined
}

/**
 * Folders to list for the objects of one series overlapping [from, to): the month folders
 * of day objects, the year folders of month objects, else the series folder — so a
 * one-month query lists one or two folders, not years of them. Unbounded or very long
 * ranges list the series folder.
 */
export const listPrefixes = (kind: StorageKind, symbol: string, interval: string, from: number, to: number): string[] => {
  const base = seriesPrefix(kind, symbol, interval)
  const period = periodOf(kind, interval)
  if (period === "year" || !Number.isFinite(from) || !Number.isFinite(to) || to <= from) return [base]
  const folder: Period = period === "day" ? "month" : "year"
  const out: string[] = []
  for (let p = periodStart(folder, from); p < to; p = periodEnd(folder, p)) {
    if (out.length >= 36) return [base]
    const d = new Date(p)
    const year = String(d.getUTCFullYear()).padStart(4, "0")
    out.push(folder === "month" ? `${base}${year}/${pad(d.getUTCMonth() + 1)}/` : `${base}${year}/`)
  }
  return out
}
