/**
 * Event-time parsing: ms or ISO-8601, a zone-less time read as UTC (never in the
 * process's time zone), impossible calendar values refused rather than rolled over, the
 * 1990-2200 bounds; agrees with Date.parse wherever Date.parse is zone-independent. No I/O.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { MAX_EVENT_MS, MIN_EVENT_MS, parseEventTime } from "../../src/domain/time.ts"

describe("event time", () => {
  it("reads a zone-less ISO time as UTC, like a date alone", () => {
    expect(parseEventTime("2026-01-05T14:30:00")).toBe(Date.UTC(2026, 0, 5, 14, 30))
    expect(parseEventTime("2026-01-05 14:30")).toBe(Date.UTC(2026, 0, 5, 14, 30))
    expect(parseEventTime("2026-01-05")).toBe(Date.UTC(2026, 0, 5))
    expect(parseEventTime("2026-01-05T14:30:00.123456789")).toBe(Date.UTC(2026, 0, 5, 14, 30, 0, 123))
  })

  it("applies an explicit zone", () => {
    expect(parseEventTime("2026-01-05T14:30:00Z")).toBe(Date.UTC(2026, 0, 5, 14, 30))
    expect(parseEventTime("2026-01-05T14:30:00+01:00")).toBe(Date.UTC(2026, 0, 5, 13, 30))
    expect(parseEventTime("2026-01-05T14:30:00-0530")).toBe(Date.UTC(2026, 0, 5, 20, 0))
  })

  it.each(["2026-02-30", "2025-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-05T24:00:00Z",
    "2026-01-05T10:60", "2026-01-05T10:00:60Z", "2026-01-05T10:00:00+24:00", "2026-01-05T10:00:00+01:60", "0095-01-01", "1989-12-31T23:59:59Z", "2200-01-01"])(
    "refuses %s", (text) => {
      expect(parseEventTime(text)).toBeUndefined()
    }
  )

  it("accepts 29 February in a leap year", () => {
    expect(parseEventTime("2024-02-29")).toBe(Date.UTC(2024, 1, 29))
    expect(parseEventTime("2000-02-29")).toBe(Date.UTC(2000, 1, 29))
    expect(parseEventTime("2100-02-29")).toBeUndefined()
  })

  const arbMs = fc.integer({ min: MIN_EVENT_MS, max: MAX_EVENT_MS - 1 })
  test.prop([arbMs], { seed: 5 })("agrees with Date.parse on UTC ISO text, and zone-less equals Z", (ms) => {
    const iso = new Date(ms).toISOString()
    expect(parseEventTime(iso)).toBe(ms)
    expect(parseEventTime(iso.slice(0, -1))).toBe(ms)
    expect(parseEventTime(String(ms))).toBe(ms)
  })
})
