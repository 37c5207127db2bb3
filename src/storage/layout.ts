/**
 * Cold object layout: which period an object of a series covers and how its key is named,
 * for today's layout (part objects, one or more per period, listed in the manifest) and
 * for the earlier per-day layout that `strata lake migrate` reads.
 *
 *   part objects   {prefix}/{SYMBOL}[/{interval}]/{period folder}/part-{id}.parquet
 *   earlier layout {prefix}/{SYMBOL}[/{interval}]/{YYYY}[/{MM}[/{DD}]]/data.parquet
 *
 * One period per series and interval, chosen so that an object holds a whole natural
 * period of a few thousand to ~50k rows (docs/storage.md, "Object sizes", has the figures):
 *   bars 1min, 5min → month · 1hour → year · 1day → decade · tick → day
 *   news → year · corporate actions → decade · social sentiment → month
 * The period folder is `YYYY` (decade: its first year, `2020`), `YYYY/MM` or `YYYY/MM/DD`.
 * A period's parts are merged by compaction; which objects exist is the manifest's
 * business (manifest.ts), never a listing's. Pure: no I/O.
 */
import type { StorageKind } from "../domain/rows.ts"

export type Period = "decade" | "year" | "month" | "day"

/** The folder name of each kind; bars from `market_data` and `intraday` share one. */
export const COLD_PREFIX: { readonly [K in StorageKind]: string } = {
  bars: "market_data", news: "news", corporate_actions: "corporate_actions", social_sentiment: "social_sentiment"
}

/** The period one object of a series covers. */
export const periodOf = (kind: StorageKind, interval: string): Period => {
  if (kind === "bars") {
    if (interval === "1day") return "decade"
    if (interval === "1hour") return "year"
    if (interval === "1min" || interval === "5min") return "month"
    return "day"
  }
  if (kind === "news") return "year"
  return kind === "corporate_actions" ? "decade" : "month"
}

/** The period of one object in the earlier layout (one `data.parquet` per period). */
export const legacyPeriodOf = (kind: StorageKind, interval: string): Exclude<Period, "decade"> => {
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
  if (period === "decade") return Date.UTC(y - (((y % 10) + 10) % 10), 0, 1)
  if (period === "year") return Date.UTC(y, 0, 1)
  if (period === "month") return Date.UTC(y, d.getUTCMonth(), 1)
  return Date.UTC(y, d.getUTCMonth(), d.getUTCDate())
}

/** End (exclusive, ms) of the period starting at `start`. */
export const periodEnd = (period: Period, start: number): number => {
  const d = new Date(start)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  if (period === "decade") return Date.UTC(y + 10, 0, 1)
  if (period === "year") return Date.UTC(y + 1, 0, 1)
  if (period === "month") return Date.UTC(y, m + 1, 1)
  return Date.UTC(y, m, d.getUTCDate() + 1)
}

const folderOf = (period: Period, start: number): string => {
  const d = new Date(start)
  const parts = [String(d.getUTCFullYear()).padStart(4, "0")]
  if (period === "month" || period === "day") parts.push(pad(d.getUTCMonth() + 1))
  if (period === "day") parts.push(pad(d.getUTCDate()))
  return parts.join("/")
}

/** The span [from, to) of the period of a series holding `ms`. */
export const periodSpan = (kind: StorageKind, interval: string, ms: number): { from: number; to: number } => {
  const period = periodOf(kind, interval)
  const from = periodStart(period, ms)
  return { from, to: periodEnd(period, from) }
}

/** The key of a new part object of the period holding `ms`; `id` makes it unique (never reused). */
export const partKey = (kind: StorageKind, symbol: string, interval: string, ms: number, id: string): string => {
  const period = periodOf(kind, interval)
  return `${seriesPrefix(kind, symbol, interval)}${folderOf(period, periodStart(period, ms))}/part-${id}.parquet`
}

/** The key the earlier layout gave the object holding a row at `ms`. */
export const legacyObjectKey = (kind: StorageKind, symbol: string, interval: string, ms: number): string => {
  const period = legacyPeriodOf(kind, interval)
  return `${seriesPrefix(kind, symbol, interval)}${folderOf(period, periodStart(period, ms))}/data.parquet`
}

export type KeyLayout = "part" | "legacy"

/** Which layout a key belongs to and the time span [from, to) it may hold; undefined when it is not ours. */
export const keySpan = (
  kind: StorageKind, interval: string, key: string
): { layout: KeyLayout; from: number; to: number } | undefined => {
  const m = /\/(\d{4})(?:\/(\d{2}))?(?:\/(\d{2}))?\/(data|part-[0-9a-z-]+)\.parquet$/.exec(key)
  if (!m) return undefined
  const layout: KeyLayout = m[4] === "data" ? "legacy" : "part"
  const period = layout === "legacy" ? legacyPeriodOf(kind, interval) : periodOf(kind, interval)
  const expected = period === "day" ? 3 : period === "month" ? 2 : 1
  const got = m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1
  if (got !== expected) return undefined
  const from = Date.UTC(Number(m[1]), m[2] ? Number(m[2]) - 1 : 0, m[3] ? Number(m[3]) : 1)
  if (periodStart(period, from) !== from) return undefined
  return { layout, from, to: periodEnd(period, from) }
}

/** The series (symbol, interval) an object key belongs to, undefined when the key is not ours. */
export const seriesOfKey = (kind: StorageKind, key: string): { symbol: string; interval: string } | undefined => {
  const parts = key.split("/")
  if (parts[0] !== COLD_PREFIX[kind] || !parts[1]) return undefined
  const interval = kind === "bars" ? parts[2] ?? "" : ""
  if (kind === "bars" && interval === "") return undefined
  // Without intervals the series folder is followed directly by the period folders.
  if (!key.startsWith(seriesPrefix(kind, parts[1], interval))) return undefined
  return keySpan(kind, interval, key) ? { symbol: parts[1], interval } : undefined
}
