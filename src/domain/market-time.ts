/**
 * Market time: how long an exchange has traded between two instants, and the instant at
 * which it will have traded for a given span. Two measures, after the two ways a user
 * says "quiet for": a number of trading sessions ("5d": five sessions, each counted once
 * it has closed), or a length of open market ("90m", "12h": time between an open and its
 * close, summed across sessions; nights, weekends and holidays do not count).
 * Pure: the calendar is data and no wall clock is read, so the same instants give the
 * same answers on every machine and in every time zone.
 * Does not decide what is quiet (machines/rules.ts) nor read the configuration
 * (src/engine/lifecycle-rules.ts).
 */
import type { Calendar, Session } from "./calendar.ts"
import { DAY_MS, utcDay } from "./time.ts"

/**
 * How far a walk over the calendar may go before it is refused: a century of days. Every
 * weekday outside a listed holiday trades, so no real span comes near it.
 */
const MAX_DAYS = 36_600

/** Sessions in date order from the date holding `from` on (the first may hold `from`). */
function* sessionsFrom(cal: Calendar, from: number): Generator<Session> {
  const first = utcDay(from)
  for (let i = 0; i < MAX_DAYS; i++) {
    const s = cal.sessionOn(first + i * DAY_MS)
    if (s) yield s
  }
  throw new Error(`no trading session within ${MAX_DAYS} days of ${new Date(from).toISOString()}`)
}

/** Milliseconds of open market in [from, to): the overlap of every session with it. */
export const openTimeBetween = (cal: Calendar, from: number, to: number): number => {
  let total = 0
  for (const s of sessionsFrom(cal, from)) {
    if (s.open >= to) break
    total += Math.max(0, Math.min(s.close, to) - Math.max(s.open, from))
  }
  return total
}

/** Sessions that open after `from` and have closed by `to` (closed at or before it). */
export const sessionsClosedBetween = (cal: Calendar, from: number, to: number): number => {
  let n = 0
  for (const s of sessionsFrom(cal, from)) {
    if (s.close > to) break
    if (s.open > from) n++
  }
  return n
}

/**
 * The first instant `t` with more than `span` ms of open market in [from, t): the market
 * must trade `span` ms and then one more. `span` ≥ 0.
 */
export const afterOpenTime = (cal: Calendar, from: number, span: number): number => {
  let left = span
  for (const s of sessionsFrom(cal, from)) {
    const start = Math.max(s.open, from)
    const open = s.close - start
    if (open <= 0) continue
    if (left < open) return start + left + 1
    left -= open
  }
  /* c8 ignore next */
  throw new Error("unreachable: sessionsFrom ends by throwing")
}

/** The open of the first session that opens after `from`. */
export const nextOpen = (cal: Calendar, from: number): number => {
  for (const s of sessionsFrom(cal, from)) if (s.open > from) return s.open
  /* c8 ignore next */
  throw new Error("unreachable: sessionsFrom ends by throwing")
}

/** The first instant after the close of the `n`-th session that opens after `from` (n ≥ 1). */
export const afterSessions = (cal: Calendar, from: number, n: number): number => {
  let seen = 0
  for (const s of sessionsFrom(cal, from)) {
    if (s.open <= from) continue
    if (++seen === n) return s.close + 1
  }
  /* c8 ignore next */
  throw new Error("unreachable: sessionsFrom ends by throwing")
}

/**
 * A span of market time, read from a duration's text: whole days are sessions, anything
 * else is open market. `ms` is the duration the text names in wall time.
 */
export type MarketSpan =
  | { readonly kind: "sessions"; readonly n: number }
  | { readonly kind: "open"; readonly ms: number }

export const marketSpan = (ms: number): MarketSpan =>
  ms % DAY_MS === 0 ? { kind: "sessions", n: ms / DAY_MS } : { kind: "open", ms }

/**
 * A lower bound of `(the instant the span has passed after from) − from`, for any `from`:
 * open market never runs faster than the wall clock, and `n` sessions that open after an
 * instant close no sooner than `n − 1` calendar days after it (a day is at least 23 hours,
 * a short one at a change of daylight saving time).
 */
export const spanLowerBound = (span: MarketSpan): number =>
  span.kind === "open" ? span.ms : Math.max(0, span.n - 1) * 23 * 3_600_000
