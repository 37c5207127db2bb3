/**
 * Trading calendars: which days an exchange trades, from when to when (UTC milliseconds),
 * and which bars a session of each interval holds. The exchanges themselves are data
 * (calendars/*.ts: hours in exchange local time with the IANA zone, closures, early
 * closes, their source); local times become instants through Intl with the exchange's
 * zone, so the answers are the same whatever the process's own time zone (TZ).
 * Outside the years a calendar lists, weekdays at regular hours are sessions (weekends
 * are still closed; holidays are unknown there): `knows` says whether a day is listed.
 * Pure: no wall clock, no I/O.
 */
import type { CalendarData } from "./calendar-data.ts"
import { XNYS } from "./calendars/xnys.ts"
import type { Interval } from "./data-types.ts"
import type { Range } from "./ranges.ts"
import { DAY_MS } from "./time.ts"

export type { CalendarData } from "./calendar-data.ts"

/** Every calendar the configuration may name. */
export const CALENDARS = { XNYS } as const satisfies Record<string, CalendarData>
export type CalendarCode = keyof typeof CALENDARS
export const CALENDAR_CODES = Object.keys(CALENDARS) as readonly CalendarCode[]

/** One trading session. */
export interface Session {
  /** The exchange's local date, "YYYY-MM-DD". */
  readonly date: string
  /** 00:00 UTC of that date (the key stored rows and gaps use for the session). */
  readonly day: number
  /** Opening and closing instants, UTC ms. */
  readonly open: number
  readonly close: number
  readonly early: boolean
}

export interface Calendar {
  readonly data: CalendarData
  /** The session on the date whose 00:00 UTC is `day`, undefined when closed. */
  readonly sessionOn: (day: number) => Session | undefined
  /** Why the date is closed ("weekend", a holiday's name), undefined when it trades. */
  readonly closedBecause: (day: number) => string | undefined
  /** Whether the calendar lists closures for the year of `day`. */
  readonly knows: (day: number) => boolean
}

const formatters = new Map<string, Intl.DateTimeFormat>()

const formatter = (zone: string): Intl.DateTimeFormat => {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    })
    formatters.set(zone, f)
  }
  return f
}

/** Offset of `zone` from UTC at instant `ms` (local wall time − UTC), in ms. */
export const zoneOffset = (zone: string, ms: number): number => {
  const parts: Record<string, number> = {}
  for (const p of formatter(zone).formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value)
  const wall = Date.UTC(parts["year"]!, parts["month"]! - 1, parts["day"]!, parts["hour"]!, parts["minute"]!, parts["second"]!)
  return wall - (ms - (((ms % 1000) + 1000) % 1000))
}

/**
 * The instant at which the wall clock of `zone` reads `hhmm` on the date whose 00:00 UTC
 * is `day`. Two passes settle a date on which the offset changes (session hours never
 * fall in the skipped or repeated hour of a change, which happens at 02:00).
 */
export const zonedInstant = (zone: string, day: number, hhmm: string): number => {
  const [h, m] = hhmm.split(":").map(Number) as [number, number]
  const wall = day + h * 3_600_000 + m * 60_000
  const first = wall - zoneOffset(zone, wall)
  return wall - zoneOffset(zone, first)
}

const isoDate = (day: number): string => new Date(day).toISOString().slice(0, 10)

/** A calendar over its data; sessions are computed once per date and kept. */
export const calendarFrom = (data: CalendarData): Calendar => {
  const cache = new Map<number, Session | null>()
  const closedBecause = (day: number): string | undefined => {
    const dow = new Date(day).getUTCDay()
    if (dow === 0 || dow === 6) return "weekend"
    return data.holidays[isoDate(day)]
  }
  const sessionOn = (day: number): Session | undefined => {
    const key = Math.floor(day / DAY_MS) * DAY_MS
    const hit = cache.get(key)
    if (hit !== undefined) return hit ?? undefined
    let s: Session | null = null
    if (closedBecause(key) === undefined) {
      const date = isoDate(key)
      const early = data.earlyCloses[date]
      s = {
        date, day: key, early: early !== undefined,
        open: zonedInstant(data.zone, key, data.open),
        close: zonedInstant(data.zone, key, early?.close ?? data.close)
      }
    }
    cache.set(key, s)
    return s ?? undefined
  }
  const knows = (day: number): boolean => {
    const y = new Date(day).getUTCFullYear()
    return y >= data.firstYear && y <= data.lastYear
  }
  return { data, sessionOn, closedBecause, knows }
}

const opened = new Map<CalendarCode, Calendar>()

/** The calendar of a configured code (one instance per process, sharing its cache). */
export const calendarOf = (code: CalendarCode): Calendar => {
  let c = opened.get(code)
  if (!c) {
    c = calendarFrom(CALENDARS[code])
    opened.set(code, c)
  }
  return c
}

/** Sessions whose date (its 00:00 UTC) lies in [from, to), in order. */
export const sessionsIn = (cal: Calendar, r: Range): Session[] => {
  const out: Session[] = []
  for (let d = Math.ceil(r.from / DAY_MS) * DAY_MS; d < r.to; d += DAY_MS) {
    const s = cal.sessionOn(d)
    if (s) out.push(s)
  }
  return out
}

const STEP_MS: Readonly<Record<Exclude<Interval, "1day" | "tick">, number>> = {
  "1hour": 3_600_000, "5min": 300_000, "1min": 60_000
}

/**
 * Open times of the bars one session holds: the day bar at the date's 00:00 UTC; intraday
 * bars every step from the open while before the close (an early close has fewer; the
 * last hourly bar of 09:30-16:00 is the half hour 15:30-16:00). Ticks have no fixed count.
 */
export const sessionBarTimes = (s: Session, interval: Interval): number[] => {
  if (interval === "1day") return [s.day]
  if (interval === "tick") return []
  const step = STEP_MS[interval]
  const out: number[] = []
  for (let t = s.open; t < s.close; t += step) out.push(t)
  return out
}

/** When the bar opening at `ts` is complete: its step later, or the session's close if sooner. */
export const barEnd = (s: Session, interval: Interval, ts: number): number =>
  interval === "1day" || interval === "tick" ? s.close : Math.min(ts + STEP_MS[interval], s.close)
