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

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/
// Event times before 1990 or after 2200 are almost surely unit mistakes (seconds for ms).
export const MIN_EVENT_MS = Date.UTC(1990, 0, 1)
export const MAX_EVENT_MS = Date.UTC(2200, 0, 1)

/**
 * Parse a `ts` value: integer milliseconds since the epoch, or ISO-8601.
 * Returns undefined when the value is neither, or outside [1990, 2200).
 */
export const parseEventTime = (raw: string): number | undefined => {
  const text = raw.trim()
  let ms: number
  if (/^\d{1,16}$/.test(text)) ms = Number(text)
  else if (ISO_8601.test(text)) ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text)
  else return undefined
  if (!Number.isSafeInteger(ms) || ms < MIN_EVENT_MS || ms >= MAX_EVENT_MS) return undefined
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
