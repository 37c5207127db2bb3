/**
 * Market time over the XNYS calendar: the instant a span of open market or a number of
 * sessions has passed, checked against independent counts (open time summed over
 * sessions, sessions counted), and the staleness rule built from it: never earlier for a
 * later last score, never sooner than its lower bound, the same answer with its cache as
 * without it.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { calendarOf } from "../../src/domain/calendar.ts"
import { afterOpenTime, afterSessions, openTimeBetween, sessionsClosedBetween } from "../../src/domain/market-time.ts"
import { quietRule } from "../../src/engine/lifecycle-rules.ts"

const cal = calendarOf("XNYS")
const MIN = 60_000
const HOUR = 60 * MIN
const et = (iso: string) => {
  // Eastern time in the two seasons the cases use (EST in winter, EDT from March 8, 2026).
  const ms = Date.parse(`${iso}Z`)
  const month = Number(iso.slice(5, 7))
  return ms + (month >= 4 && month <= 10 ? 4 : 5) * HOUR
}

/** Instants across 2000–2030: past the calendar's listed years too (weekdays trade there). */
const arbInstant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 11, 31) })

describe("market time", () => {
  test.prop([arbInstant, fc.integer({ min: 0, max: 40 * HOUR })], { seed: 1201, numRuns: 300 })(
    "the instant a span of open market has passed: the span has, one millisecond earlier it has not",
    (from, span) => {
      const t = afterOpenTime(cal, from, span)
      expect(openTimeBetween(cal, from, t)).toBeGreaterThan(span)
      expect(openTimeBetween(cal, from, t - 1)).toBeLessThanOrEqual(span)
    }
  )

  test.prop([arbInstant, fc.integer({ min: 1, max: 12 })], { seed: 1202, numRuns: 300 })(
    "the instant n sessions have passed: n sessions opened after the start and closed before it, n − 1 a millisecond earlier",
    (from, n) => {
      const t = afterSessions(cal, from, n)
      expect(sessionsClosedBetween(cal, from, t - 1)).toBe(n)
      expect(sessionsClosedBetween(cal, from, t - 2)).toBe(n - 1)
    }
  )

  it("skips nights, weekends, holidays and the part of an early close that does not trade", () => {
    // Friday 15:50 ET: 10 minutes of Friday, then Monday from 09:30.
    expect(afterOpenTime(cal, et("2026-01-09T15:50:00"), 30 * MIN)).toBe(et("2026-01-12T09:50:00") + 1)
    // Good Friday 2026 (April 3) is closed: two sessions after Wednesday noon are Thursday and Monday.
    expect(afterSessions(cal, et("2026-04-01T12:00:00"), 2)).toBe(et("2026-04-06T16:00:00") + 1)
    // The day after Thanksgiving 2026 closes at 13:00 ET: its last open minute ends then.
    expect(afterOpenTime(cal, et("2026-11-27T12:30:00"), 30 * MIN)).toBe(et("2026-11-30T09:30:00") + 1)
  })
})

describe("the staleness rule in market time", () => {
  const rules = ["90m", "12h", "1d", "5d"].map((text) => [text, quietRule(text, "XNYS")!] as const)

  // Instants a few days apart around one start, as a scanner's scores are.
  const arbNear = fc.tuple(arbInstant, fc.array(fc.integer({ min: 0, max: 10 * 24 * HOUR }), { minLength: 2, maxLength: 40 }))
    .map(([base, offsets]) => offsets.map((o) => base + o))

  test.prop([arbNear], { seed: 1203, numRuns: 100 })(
    "never earlier for a later last score, never within its lower bound, and the same with its cache as computed afresh",
    (instants) => {
      for (const [text, rule] of rules) {
        const sorted = [...instants].sort((a, b) => a - b)
        for (let i = 0; i < sorted.length; i++) {
          const at = rule.staleAt(sorted[i]!)
          expect(at - sorted[i]! - 1, text).toBeGreaterThanOrEqual(rule.minMs)
          if (i > 0) expect(at, text).toBeGreaterThanOrEqual(rule.staleAt(sorted[i - 1]!))
        }
        // In the order given (the cache meets instants out of order), against a new rule per instant.
        for (const l of instants) expect(rule.staleAt(l), text).toBe(quietRule(text, "XNYS")!.staleAt(l))
      }
    }
  )

  it("is stream time with calendar none", () => {
    const rule = quietRule("90m", "none")!
    expect(rule.staleAt(et("2026-01-09T15:50:00"))).toBe(et("2026-01-09T15:50:00") + 90 * MIN + 1)
    expect(quietRule("off", "XNYS")).toBeNull()
  })
})
