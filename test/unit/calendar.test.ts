/**
 * The XNYS calendar against NYSE's published holiday history 2000-2027 (the lists below are
 * typed from NYSE's closings and early-close history, not computed), session instants
 * across daylight-saving changes, and the same answers under TZ=UTC and TZ=Asia/Tokyo.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { calendarOf, sessionBarTimes, sessionsIn } from "../../src/domain/calendar.ts"
import { DAY_MS } from "../../src/domain/time.ts"

/** Weekday closures per year, as NYSE lists them (MM-DD). */
const NYSE_CLOSED: Record<number, string> = {
  2000: "01-17 02-21 04-21 05-29 07-04 09-04 11-23 12-25",
  2001: "01-01 01-15 02-19 04-13 05-28 07-04 09-03 09-11 09-12 09-13 09-14 11-22 12-25",
  2002: "01-01 01-21 02-18 03-29 05-27 07-04 09-02 11-28 12-25",
  2003: "01-01 01-20 02-17 04-18 05-26 07-04 09-01 11-27 12-25",
  2004: "01-01 01-19 02-16 04-09 05-31 06-11 07-05 09-06 11-25 12-24",
  2005: "01-17 02-21 03-25 05-30 07-04 09-05 11-24 12-26",
  2006: "01-02 01-16 02-20 04-14 05-29 07-04 09-04 11-23 12-25",
  2007: "01-01 01-02 01-15 02-19 04-06 05-28 07-04 09-03 11-22 12-25",
  2008: "01-01 01-21 02-18 03-21 05-26 07-04 09-01 11-27 12-25",
  2009: "01-01 01-19 02-16 04-10 05-25 07-03 09-07 11-26 12-25",
  2010: "01-01 01-18 02-15 04-02 05-31 07-05 09-06 11-25 12-24",
  2011: "01-17 02-21 04-22 05-30 07-04 09-05 11-24 12-26",
  2012: "01-02 01-16 02-20 04-06 05-28 07-04 09-03 10-29 10-30 11-22 12-25",
  2013: "01-01 01-21 02-18 03-29 05-27 07-04 09-02 11-28 12-25",
  2014: "01-01 01-20 02-17 04-18 05-26 07-04 09-01 11-27 12-25",
  2015: "01-01 01-19 02-16 04-03 05-25 07-03 09-07 11-26 12-25",
  2016: "01-01 01-18 02-15 03-25 05-30 07-04 09-05 11-24 12-26",
  2017: "01-02 01-16 02-20 04-14 05-29 07-04 09-04 11-23 12-25",
  2018: "01-01 01-15 02-19 03-30 05-28 07-04 09-03 11-22 12-05 12-25",
  2019: "01-01 01-21 02-18 04-19 05-27 07-04 09-02 11-28 12-25",
  2020: "01-01 01-20 02-17 04-10 05-25 07-03 09-07 11-26 12-25",
  2021: "01-01 01-18 02-15 04-02 05-31 07-05 09-06 11-25 12-24",
  2022: "01-17 02-21 04-15 05-30 06-20 07-04 09-05 11-24 12-26",
  2023: "01-02 01-16 02-20 04-07 05-29 06-19 07-04 09-04 11-23 12-25",
  2024: "01-01 01-15 02-19 03-29 05-27 06-19 07-04 09-02 11-28 12-25",
  2025: "01-01 01-09 01-20 02-17 04-18 05-26 06-19 07-04 09-01 11-27 12-25",
  2026: "01-01 01-19 02-16 04-03 05-25 06-19 07-03 09-07 11-26 12-25",
  2027: "01-01 01-18 02-15 03-26 05-31 06-18 07-05 09-06 11-25 12-24"
}

/** Sessions closing at 13:00 ET, as NYSE lists them (MM-DD). */
const NYSE_EARLY: Record<number, string> = {
  2000: "07-03 11-24", 2001: "07-03 11-23 12-24", 2002: "07-05 11-29 12-24", 2003: "07-03 11-28 12-24 12-26",
  2004: "11-26", 2005: "11-25", 2006: "07-03 11-24", 2007: "07-03 11-23 12-24", 2008: "07-03 11-28 12-24",
  2009: "11-27 12-24", 2010: "11-26", 2011: "11-25", 2012: "07-03 11-23 12-24", 2013: "07-03 11-29 12-24",
  2014: "07-03 11-28 12-24", 2015: "11-27 12-24", 2016: "11-25", 2017: "07-03 11-24", 2018: "07-03 11-23 12-24",
  2019: "07-03 11-29 12-24", 2020: "11-27 12-24", 2021: "11-26", 2022: "11-25", 2023: "07-03 11-24",
  2024: "07-03 11-29 12-24", 2025: "07-03 11-28 12-24", 2026: "11-27 12-24", 2027: "11-26"
}

const cal = calendarOf("XNYS")
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`)
const dates = (year: number, list: string) => list.split(" ").map((md) => `${year}-${md}`)

describe("XNYS calendar", () => {
  it("is closed exactly on NYSE's published weekday closures, 2000-2027", () => {
    for (let year = 2000; year <= 2027; year++) {
      const closed: string[] = []
      for (let d = Date.UTC(year, 0, 1); d < Date.UTC(year + 1, 0, 1); d += DAY_MS) {
        const dow = new Date(d).getUTCDay()
        if (dow !== 0 && dow !== 6 && cal.sessionOn(d) === undefined) closed.push(new Date(d).toISOString().slice(0, 10))
      }
      expect(closed, String(year)).toEqual(dates(year, NYSE_CLOSED[year]!))
    }
  })

  it("closes at 13:00 ET exactly on NYSE's published early closes, 2000-2027", () => {
    for (let year = 2000; year <= 2027; year++) {
      const early = sessionsIn(cal, { from: Date.UTC(year, 0, 1), to: Date.UTC(year + 1, 0, 1) }).filter((s) => s.early)
      expect(early.map((s) => s.date), String(year)).toEqual(dates(year, NYSE_EARLY[year]!))
      for (const s of early) expect(s.close - s.open).toBe(3.5 * 3_600_000)
    }
  })

  it("never trades on weekends, and names why a day is closed", () => {
    expect(cal.sessionOn(day("2024-03-09"))).toBeUndefined()
    expect(cal.closedBecause(day("2024-03-10"))).toBe("weekend")
    expect(cal.closedBecause(day("2025-01-09"))).toMatch(/Carter/)
    expect(cal.closedBecause(day("2024-03-08"))).toBeUndefined()
  })

  it("opens at 09:30 and closes at 16:00 New York time across daylight-saving changes", () => {
    // EST (UTC-5) on Friday 2024-03-08, EDT (UTC-4) on Monday 2024-03-11.
    expect(cal.sessionOn(day("2024-03-08"))).toMatchObject({ open: Date.parse("2024-03-08T14:30:00Z"), close: Date.parse("2024-03-08T21:00:00Z"), early: false })
    expect(cal.sessionOn(day("2024-03-11"))).toMatchObject({ open: Date.parse("2024-03-11T13:30:00Z"), close: Date.parse("2024-03-11T20:00:00Z") })
    expect(cal.sessionOn(day("2024-11-29"))).toMatchObject({ close: Date.parse("2024-11-29T18:00:00Z"), early: true })
    expect(cal.sessionOn(day("2024-11-04"))).toMatchObject({ open: Date.parse("2024-11-04T14:30:00Z") })
  })

  it("gives each session its bars: 390 one-minute bars, 210 on an early close, one day bar", () => {
    const full = cal.sessionOn(day("2024-03-11"))!
    const early = cal.sessionOn(day("2024-11-29"))!
    expect(sessionBarTimes(full, "1min")).toHaveLength(390)
    expect(sessionBarTimes(early, "1min")).toHaveLength(210)
    expect(sessionBarTimes(full, "5min")).toHaveLength(78)
    expect(sessionBarTimes(full, "1hour")).toHaveLength(7)
    expect(sessionBarTimes(early, "1hour")).toHaveLength(4)
    expect(sessionBarTimes(full, "1day")).toEqual([day("2024-03-11")])
    expect(sessionBarTimes(full, "1min").at(-1)).toBe(Date.parse("2024-03-11T19:59:00Z"))
  })

  it("gives the same sessions under TZ=UTC and TZ=Asia/Tokyo", () => {
    const script = fileURLToPath(new URL("../helpers/calendar-digest.ts", import.meta.url))
    const digest = (tz: string) => execFileSync(process.execPath, ["--import", "tsx", script], { env: { ...process.env, TZ: tz }, encoding: "utf8" })
    const utc = digest("UTC")
    expect(JSON.parse(utc).sessions).toBeGreaterThan(7000)
    expect(digest("Asia/Tokyo")).toBe(utc)
    expect(digest("America/Los_Angeles")).toBe(utc)
  })
})
