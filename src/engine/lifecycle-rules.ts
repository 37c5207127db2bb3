/**
 * The machine's lifecycle rules from the decoded configuration: the one place the config's
 * shape meets the machine's, so machines/ knows only its own rules and the domain.
 */
import type { LifecycleConfig } from "../../config/schema.ts"
import { streamTimeQuiet, type LayerThreshold, type LifecycleRules, type QuietRule } from "../../machines/rules.ts"
import { calendarOf, type Calendar } from "../domain/calendar.ts"
import { afterOpenTime, afterSessions, marketSpan, nextOpen, spanLowerBound, type MarketSpan } from "../domain/market-time.ts"
import { parseDuration } from "../domain/time.ts"

const threshold = (l: LifecycleConfig["layers"]["L1"]): LayerThreshold => ({
  score: l.score, promoteAt: l.promote_at, demoteBelow: l.demote_below
})

export const rulesFromConfig = (c: LifecycleConfig): LifecycleRules => ({
  layers: [threshold(c.layers.L1), threshold(c.layers.L2), threshold(c.layers.L3)],
  confirmations: c.confirmations,
  minDwellMs: parseDuration(c.min_dwell) ?? 0,
  quiet: quietRule(c.stale_after, c.calendar)
})

/** lifecycle.stale_after in ms of wall time; null when it is "off". */
export const staleAfterMs = (text: string): number | null =>
  text.trim() === "off" ? null : parseDuration(text) ?? null

/** lifecycle.stale_after as a rule, in stream time or in the calendar's market time. */
export const quietRule = (staleAfter: string, calendar: LifecycleConfig["calendar"]): QuietRule | null => {
  const ms = staleAfterMs(staleAfter)
  if (ms === null) return null
  if (calendar === "none") return streamTimeQuiet(ms)
  return marketTimeQuiet(calendarOf(calendar), marketSpan(ms))
}

/**
 * A span of market time. For sessions the answer is the same for every `lastAt` before
 * the next open, which is where a symbol scored during a session sits until it closes,
 * so the last answer is kept with the instants it holds for: the engine asks once per
 * changed actor per batch, mostly about the same session.
 */
const marketTimeQuiet = (cal: Calendar, span: MarketSpan): QuietRule => {
  const minMs = spanLowerBound(span)
  if (span.kind === "open") return { minMs, staleAt: (lastAt) => afterOpenTime(cal, lastAt, span.ms) }
  let from = Number.NaN
  let until = Number.NaN
  let answer = Number.NaN
  return {
    minMs,
    staleAt: (lastAt) => {
      if (lastAt >= from && lastAt < until) return answer
      answer = afterSessions(cal, lastAt, span.n)
      // The sessions counted are those opening after lastAt: the same for any instant
      // before the first of them opens.
      from = lastAt
      until = nextOpen(cal, lastAt)
      return answer
    }
  }
}
