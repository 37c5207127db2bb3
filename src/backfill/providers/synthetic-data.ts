/**
 * Deterministic market data: every row is a pure function of (seed, symbol, interval or
 * kind, time), so any split of a range into chunks yields the same rows, and the test
 * HTTP server and the bench can recompute what a backfill must have stored.
 * Sessions: weekdays only for bars (14:30–21:00 UTC intraday; the day bar at 00:00 UTC),
 * so weekends are days with no data. Pure.
 */
import type { Interval } from "../../../config/schema.ts"
import type { Bar, CorporateAction, NewsItem, SentimentPoint } from "../../domain/rows.ts"
import { DAY_MS } from "../../domain/time.ts"
import type { Range } from "../../domain/ranges.ts"

const MIN = 60_000

/** FNV-1a over the text, to [0, 1). */
export const unit = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) / 4294967296
}

const isWeekday = (day: number): boolean => {
  const dow = new Date(day).getUTCDay()
  return dow !== 0 && dow !== 6
}

const daysOf = (r: Range): number[] => {
  const out: number[] = []
  for (let d = Math.floor(r.from / DAY_MS) * DAY_MS; d < r.to; d += DAY_MS) out.push(d)
  return out
}

/** Bar open times of one weekday session, by interval. */
const sessionTimes = (day: number, interval: Interval): number[] => {
  switch (interval) {
    case "1day": return [day]
    case "1hour": return Array.from({ length: 7 }, (_, i) => day + (14 + i) * 60 * MIN)
    case "5min": return Array.from({ length: 78 }, (_, i) => day + 14 * 60 * MIN + 30 * MIN + i * 5 * MIN)
    case "1min": return Array.from({ length: 390 }, (_, i) => day + 14 * 60 * MIN + 30 * MIN + i * MIN)
    case "tick": return []
  }
}

const round = (x: number, places: number): number => Math.round(x * 10 ** places) / 10 ** places

export const syntheticBar = (seed: number, symbol: string, interval: Interval, ts: number): Bar => {
  const base = 20 + 480 * unit(`${seed}|${symbol}|base`)
  const wave = 1 + 0.2 * Math.sin(ts / (40 * DAY_MS) + 10 * unit(`${seed}|${symbol}|phase`))
  const noise = (k: string) => unit(`${seed}|${symbol}|${interval}|${ts}|${k}`)
  const open = round(base * wave * (0.99 + 0.02 * noise("o")), 4)
  const close = round(base * wave * (0.99 + 0.02 * noise("c")), 4)
  const high = round(Math.max(open, close) * (1 + 0.01 * noise("h")), 4)
  const low = round(Math.min(open, close) * (1 - 0.01 * noise("l")), 4)
  const volume = Math.floor(1000 + 1_000_000 * noise("v"))
  return {
    symbol, interval, ts, open, high, low, close, volume,
    vwap: round((open + high + low + close) / 4, 4),
    trades: Math.floor(10 + 5000 * noise("n"))
  }
}

export const syntheticBars = (seed: number, symbol: string, interval: Interval, r: Range): Bar[] =>
  daysOf(r).filter(isWeekday).flatMap((d) => sessionTimes(d, interval))
    .filter((ts) => ts >= r.from && ts < r.to)
    .map((ts) => syntheticBar(seed, symbol, interval, ts))

/** About one article every other day, weekends included. */
export const syntheticNews = (seed: number, symbol: string, r: Range): NewsItem[] =>
  daysOf(r).flatMap((d) => {
    const u = unit(`${seed}|${symbol}|news|${d}`)
    if (u >= 0.5) return []
    const published_at = d + 8 * 60 * MIN + Math.floor(u * 2 * 12 * 60) * MIN
    const id = `syn-${symbol}-${d / DAY_MS}`
    return [{ symbol, id, published_at, title: `${symbol} update ${d / DAY_MS}`, publisher: "Synthetic Wire", url: `https://example.invalid/${id}` }]
  }).filter((n) => n.published_at >= r.from && n.published_at < r.to)

/** A dividend on about one weekday in 20, a split on about one in 700. */
export const syntheticActions = (seed: number, symbol: string, r: Range): CorporateAction[] =>
  daysOf(r).filter(isWeekday).filter((d) => d >= r.from && d < r.to).flatMap((d) => {
    const out: CorporateAction[] = []
    const u = unit(`${seed}|${symbol}|div|${d}`)
    if (u < 0.05) out.push({ symbol, kind: "dividend", ex_date: d, value: round(0.05 + 2 * u * 20, 4) })
    if (unit(`${seed}|${symbol}|split|${d}`) < 1 / 700) out.push({ symbol, kind: "split", ex_date: d, value: 2 })
    return out
  })

const SOURCES = [["reddit", 12], ["x", 18]] as const

/** Two points a day (reddit at 12:00, x at 18:00 UTC). */
export const syntheticSentiment = (seed: number, symbol: string, r: Range): SentimentPoint[] =>
  daysOf(r).flatMap((d) => SOURCES.map(([source, hour]) => {
    const ts = d + hour * 60 * MIN
    const u = unit(`${seed}|${symbol}|${source}|${ts}`)
    return { symbol, source, ts, score: round(2 * u - 1, 4), mentions: Math.floor(1 + 500 * u) }
  })).filter((p) => p.ts >= r.from && p.ts < r.to)
