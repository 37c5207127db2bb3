/**
 * Decoding of one `strata:scores` entry (flat field/value pairs) into a score event, or
 * a rejection with a reason for the dead-letter stream. Structure limits (field count,
 * value length, duplicate or malformed names) are checked first, cheaply; values are
 * then decoded by an Effect Schema. Also the producer's side (`scoresFields`, for the
 * bench and tools that write scores the way `redis-cli XADD` does) and two cheap peeks
 * the engine and replay take before decoding: an entry's symbol and its event time.
 * Pure: no Redis here.
 */
import { Result, Schema, SchemaIssue } from "effect"
import { fieldValue } from "./entry.ts"
import { isValidSymbol, normaliseSymbol } from "../src/domain/symbols.ts"
import { entryIdMs, isEventTime, parseEventTime } from "../src/domain/time.ts"

export interface DecodeLimits {
  readonly maxFields: number
  readonly maxValueLength: number
}

export interface DecodedScores {
  readonly ok: true
  readonly symbol: string
  /** Event time (ms): the `ts` field, else the entry ID's milliseconds. */
  readonly at: number
  readonly scores: Readonly<Record<string, number>>
}

export interface Rejected {
  readonly ok: false
  readonly reason: string
}

/** A score's (or any producer field's) name. */
export const FIELD_NAME = /^[a-z][a-z0-9_]{0,31}$/
/** Plain decimal notation only: Number() would also take "0x10", "0b1" and "1_0". */
export const DECIMAL = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/

const Score = Schema.FiniteFromString
const ScoreMap = Schema.Record(Schema.String, Score)
const decodeScores = Schema.decodeUnknownResult(ScoreMap)
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * A scores entry as a producer writes it: `symbol`, optional `ts` (ms), then the scores in
 * the order given. Values are written as given (a string keeps its formatting).
 */
export const scoresFields = (symbol: string, scores: Readonly<Record<string, number | string>>, ts?: number): string[] => [
  "symbol", symbol,
  ...(ts === undefined ? [] : ["ts", String(ts)]),
  ...Object.entries(scores).flatMap(([name, value]) => [name, String(value)])
]

/** The entry's symbol as the decoder will see it (trimmed, upper-cased), when it is a valid one. */
export const scoresSymbol = (fields: readonly string[]): string | undefined => {
  const s = normaliseSymbol(fieldValue(fields, "symbol") ?? "")
  return isValidSymbol(s) ? s : undefined
}

/**
 * The event time the decoder gives an entry: its `ts` field when valid, else its entry ID's
 * milliseconds (an entry with an invalid `ts` is dead-lettered; this still gives it a time).
 */
export const scoresEventTime = (id: string, fields: readonly string[]): number => {
  const ts = fieldValue(fields, "ts")
  return (ts === undefined ? undefined : parseEventTime(ts)) ?? entryIdMs(id)
}

const showValue = (v: string): string => JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v)

export const decodeScoresEntry = (id: string, fields: readonly string[], limits: DecodeLimits): DecodedScores | Rejected => {
  const pairs = fields.length >> 1
  if (pairs > limits.maxFields) return { ok: false, reason: `too many fields: ${pairs} > ${limits.maxFields}` }
  let symbolRaw: string | undefined
  let tsRaw: string | undefined
  const raw: Record<string, string> = {}
  const seen = new Set<string>()
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string
    const value = fields[i + 1] as string
    if (seen.has(name)) return { ok: false, reason: `duplicate field ${showValue(name)}` }
    seen.add(name)
    if (!FIELD_NAME.test(name)) return { ok: false, reason: `invalid field name ${showValue(name)}: lower case letters, digits and _ (at most 32)` }
    if (value.length > limits.maxValueLength) {
      return { ok: false, reason: `value of ${name} too long: ${value.length} > ${limits.maxValueLength} characters` }
    }
    if (name === "symbol") symbolRaw = value
    else if (name === "ts") tsRaw = value
    else raw[name] = value
  }
  if (symbolRaw === undefined) return { ok: false, reason: "missing symbol" }
  const symbol = normaliseSymbol(symbolRaw)
  if (symbol === "") return { ok: false, reason: "empty symbol" }
  if (!isValidSymbol(symbol)) return { ok: false, reason: `invalid symbol ${showValue(symbolRaw)}: expected ^[A-Z0-9][A-Z0-9.-]{0,14}$ after trim and upper-case` }
  let at: number
  if (tsRaw !== undefined) {
    const parsed = parseEventTime(tsRaw)
    if (parsed === undefined) return { ok: false, reason: `invalid ts ${showValue(tsRaw)}: expected ms since epoch or ISO-8601, between 1990 and 2200` }
    at = parsed
  } else {
    at = entryIdMs(id)
    // An ID given by hand (XADD … 1-1 …) must make an event time the lifecycle stream can carry.
    if (!isEventTime(at)) return { ok: false, reason: `no ts, and the entry ID ${showValue(id)} is no event time between 1990 and 2200` }
  }
  const names = Object.keys(raw)
  if (names.length === 0) return { ok: false, reason: "no score fields" }
  for (const n of names) {
    const v = raw[n] as string
    // Blank strings decode to 0 with Number(); a score must say a number.
    if (v.trim() === "") return { ok: false, reason: `score ${n} is empty` }
    if (!DECIMAL.test(v) && !/^\s*[-+]?(?:Infinity|NaN)\s*$/.test(v)) {
      return { ok: false, reason: `score ${n} is not a decimal number: ${showValue(v)}` }
    }
  }
  // Fast path: FiniteFromString is Number() then a finiteness check; when every value
  // passes it, the Schema would return exactly these numbers. Otherwise the Schema decodes
  // and names the failing field.
  const fast: Record<string, number> = {}
  let allFinite = true
  for (const n of names) {
    const v = Number(raw[n])
    if (!Number.isFinite(v)) {
      allFinite = false
      break
    }
    fast[n] = v
  }
  if (allFinite) return { ok: true, symbol, at, scores: fast }
  const decoded = decodeScores(raw)
  if (Result.isFailure(decoded)) {
    const first = formatter(decoded.failure.issue).issues[0]
    const field = first?.path?.[0]
    const name = typeof field === "object" && field !== null && "key" in field ? String(field.key) : String(field ?? "?")
    return { ok: false, reason: `score ${name} is not a finite number: ${showValue(raw[name] ?? "")}` }
  }
  return { ok: true, symbol, at, scores: decoded.success }
}
