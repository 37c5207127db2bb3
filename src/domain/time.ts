/**
 * Event-time helpers: parsing the `ts` field, stream entry IDs, durations, UTC days.
 * Pure: nothing here reads the wall clock.
 */

/** Milliseconds part of a Redis stream entry ID ("1700000000000-3" → 1700000000000). */
export const entryIdMs = (id: string): number => {
  const dash = id.indexOf("-")
  return Number(dash < 0 ? id : id.slice(0, dash))
}

/** Compare two stream entry IDs numerically (ms, then sequence). */
export const compareEntryIds = (a: string, b: string): number => {
  const [am = "0", as = "0"] = a.split("-")
  const [bm = "0", bs = "0"] = b.split("-")
  const dm = BigInt(am) - BigInt(bm)
  if (dm !== 0n) return dm < 0n ? -1 : 1
  const ds = BigInt(as) - BigInt(bs)
  return ds === 0n ? 0 : ds < 0n ? -1 : 1
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/
// Event times before 1990 or after 2200 are almost surely unit mistakes (seconds for ms).
export const MIN_EVENT_MS = Date.UTC(1990, 0, 1)
export const MAX_EVENT_MS = Date.UTC(2200, 0, 1)

/** Whether `ms` is an event time the engine accepts: an integer in [1990, 2200). */
export const isEventTime = (ms: number): boolean => Number.isSafeInteger(ms) && ms >= MIN_EVENT_MS && ms < MAX_EVENT_MS

const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31

/**
 * An ISO-8601 date or date-time as UTC milliseconds. A time without a zone is UTC, like a
 * date alone: the same text must mean the same instant on every machine, whatever its
 * time zone. Impossible calendar values (2026-02-30, 24:00, 10:60) are undefined rather
 * than rolled over. Fractions beyond milliseconds are cut, as Date.parse cuts them.
 */
const parseIsoUtc = (text: string): number | undefined => {
  const m = ISO_8601.exec(text)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => Number(v ?? 0)) as [number, number, number, number, number, number]
  // Date.UTC maps years 0-99 to 1900-1999; nothing before 1990 is an event time anyway.
  if (year < 1000) return undefined
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMin = 0
  const zone = m[8]
  if (zone !== undefined && zone !== "Z") {
    const digits = zone.replace(":", "")
    const oh = Number(digits.slice(1, 3)), om = Number(digits.slice(3, 5))
    if (oh > 23 || om > 59) return undefined
    offsetMin = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om)
  }
  const ms = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3))
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000
}

/**
 * Parse a `ts` value: integer milliseconds since the epoch, or ISO-8601 (zone-less = UTC).
 * Returns undefined when the value is neither, names an impossible date, or lies outside
 * [1990, 2200).
 */
export const parseEventTime = (raw: string): number | undefined => {
  const text = raw.trim()
  let ms: number | undefined
  if (/^\d{1,16}$/.test(text)) ms = Number(text)
  else ms = parseIsoUtc(text)
  if (ms === undefined || !isEventTime(ms)) return undefined
  return ms
}

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** "15m" → 900000. Undefined when the text is not `<integer><ms|s|m|h|d>`. */
export const parseDuration = (text: string): number | undefined => {
  const m = DURATION.exec(text.trim())
  if (!m) return undefined
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
}

export const DAY_MS = 86_400_000
/** The UTC day (ms at 00:00) that holds `ms`. */
export const utcDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS
