/**
 * Deterministic market data: every row is a pure function of (seed, symbol, interval or
 * kind, time), so any split of a range into chunks yields the same rows, and the test
 * HTTP server and the bench can recompute what a backfill must have stored.
 * Bars follow a trading calendar (XNYS unless told): none on a closed day or outside the
 * session, fewer on an early close (calendar.ts `sessionBarTimes`; the day bar at 00:00
 * UTC of the session's date). Corporate actions fall on sessions too; news and sentiment
 * come every day. Pure: whether a row is already in the past is the provider's concern.
 */
import type { Interval } from "../../../config/schema.ts"
import { calendarOf, sessionBarTimes, sessionsIn, type Calendar } from "../../domain/calendar.ts"
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

const daysOf = (r: Range): number[] => {
  const out: number[] = []
  for (let d = Math.floor(r.from / DAY_MS) * DAY_MS; d < r.to; d += DAY_MS) out.push(d)
  return out
}

/** The default calendar of synthetic rows. */
export const SYNTHETIC_CALENDAR: Calendar = calendarOf("XNYS")

/** Sessions whose date may hold a row of [from, to) (a session starts on its own date). */
const sessionsTouching = (cal: Calendar, r: Range) =>
  sessionsIn(cal, { from: Math.floor(r.from / DAY_MS) * DAY_MS, to: r.to })

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

export const syntheticBars = (seed: number, symbol: string, interval: Interval, r: Range, cal: Calendar = SYNTHETIC_CALENDAR): Bar[] =>
  sessionsTouching(cal, r).flatMap((s) => sessionBarTimes(s, interval))
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

/** A dividend on about one session in 20, a split on about one in 700. */
export const syntheticActions = (seed: number, symbol: string, r: Range, cal: Calendar = SYNTHETIC_CALENDAR): CorporateAction[] =>
  sessionsTouching(cal, r).map((s) => s.day).filter((d) => d >= r.from && d < r.to).flatMap((d) => {
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
