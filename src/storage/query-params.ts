/**
 * Validation of a read request (CLI flags or HTTP query string): symbol, interval and
 * time range, adjustment, each problem named after the parameter to fix. Pure.
 */
import { ADJUST_MODES, isAdjust, type Adjust } from "../domain/adjust.ts"
import { INTERVALS } from "../domain/data-types.ts"
import { isValidSymbol, normaliseSymbol } from "../domain/symbols.ts"
import { DAY_MS, parseEventTime } from "../domain/time.ts"

export interface SeriesQuery {
  readonly symbol: string
  readonly interval: string
  /** [from, to) in ms. */
  readonly from: number
  readonly to: number
}

export type Parsed = { ok: true; query: SeriesQuery } | { ok: false; errors: string[] }

/**
 * `to` defaults to `now`, `from` to 30 days before `to`; `interval` is required for bars
 * (pass `needsInterval`) and ignored otherwise.
 */
export const parseSeriesQuery = (
  raw: { symbol?: string | undefined; interval?: string | undefined; from?: string | undefined; to?: string | undefined },
  needsInterval: boolean,
  now: number
): Parsed => {
  const errors: string[] = []
  const symbol = normaliseSymbol(raw.symbol ?? "")
  if (!isValidSymbol(symbol)) errors.push(`symbol: expected a ticker such as AAPL or BRK.B, got "${raw.symbol ?? ""}"`)
  const interval = needsInterval ? (raw.interval ?? "") : ""
  if (needsInterval && !(INTERVALS as readonly string[]).includes(interval)) {
    errors.push(`interval: expected one of ${INTERVALS.join(", ")}, got "${raw.interval ?? ""}"`)
  }
  const time = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined || v === "") return fallback
    const ms = parseEventTime(v)
    if (ms === undefined) errors.push(`${name}: expected ms since the epoch or an ISO-8601 date/time, got "${v}"`)
    return ms ?? fallback
  }
  const to = time("to", raw.to, now)
  const from = time("from", raw.from, to - 30 * DAY_MS)
  if (errors.length === 0 && from >= to) errors.push(`from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`)
  return errors.length > 0 ? { ok: false, errors } : { ok: true, query: { symbol, interval, from, to } }
}

/** The `adjust` parameter: absent or empty means `none`; only bars are adjusted. */
export const parseAdjust = (raw: string | null | undefined, bars: boolean): { ok: true; adjust: Adjust } | { ok: false; error: string } => {
  const v = raw === null || raw === undefined || raw === "" ? "none" : raw
  if (!isAdjust(v)) return { ok: false, error: `adjust: expected one of ${ADJUST_MODES.join(", ")}, got "${raw}"` }
  if (!bars && v !== "none") return { ok: false, error: `adjust: only bars are adjusted, got "${v}" for another kind` }
  return { ok: true, adjust: v }
}
