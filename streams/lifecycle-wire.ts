/**
 * A lifecycle event as it travels on `<prefix>:{p}:lifecycle` (DESIGN §4): its encoder
 * (the fixed field order the engine writes, so the same input gives byte-identical
 * entries) and its validating decoder for every reader (projector, tiering's demotion
 * feed, replay reports), which must survive entries written by hand. Pure: no Redis here.
 */
import { Result, Schema, SchemaIssue } from "effect"
import { lifecycleEventType, type Layer, type LifecycleEventType } from "../src/domain/layers.ts"
import { SYMBOL_PATTERN } from "../src/domain/symbols.ts"
import { isEventTime, MAX_EVENT_MS, MIN_EVENT_MS } from "../src/domain/time.ts"
import { firstDuplicate, fieldRecord, type StreamEntry } from "./entry.ts"
import { DECIMAL, FIELD_NAME } from "./scores-wire.ts"

/** A change of layer, as the engine publishes it. */
export interface Transition {
  readonly symbol: string
  readonly from: Layer
  readonly to: Layer
  /** Event time (ms). */
  readonly at: number
  /**
   * What caused it: the scores entry ID whose event moved the symbol, or `stale:` and the
   * scores entry ID that moved the partition's stream time past the symbol's staleness
   * deadline (a stale demotion).
   */
  readonly cause: string
  readonly scores: Readonly<Record<string, number>>
}

export interface LifecycleEvent extends Transition {
  readonly type: LifecycleEventType
}

export type DecodedLifecycle = { readonly ok: true; readonly event: LifecycleEvent } | { readonly ok: false; readonly reason: string }

const CONTRACT = ["type", "symbol", "from", "to", "at", "cause"] as const
const CONTRACT_NAMES: ReadonlySet<string> = new Set(CONTRACT)

/** The entry's fields: the contract's six in order, then the configured scores it knows. */
export const lifecycleFields = (t: Transition, scoreNames: readonly string[]): string[] => {
  const fields = [
    "type", lifecycleEventType(t.from, t.to),
    "symbol", t.symbol,
    "from", String(t.from),
    "to", String(t.to),
    "at", String(t.at),
    "cause", t.cause
  ]
  for (const name of scoreNames) {
    const v = t.scores[name]
    if (v !== undefined) fields.push(name, String(v))
  }
  return fields
}

/** Bounds a reader holds hand-written entries to (the engine's own stay far below). */
export const LIFECYCLE_LIMITS = { maxScores: 64, maxValueLength: 64 } as const

// PostgreSQL bigint holds each part of the cause's ID (companies.last_event_id_ms/_seq).
const INT64_MAX = 9_223_372_036_854_775_807n
/** A cause: an entry ID, or `stale:` and an entry ID (see Transition.cause). */
const CAUSE = /^(?:stale:)?\d{1,20}-\d{1,20}$/
const STALE_PREFIX = "stale:"

/** The entry ID inside a cause (either form); the projector orders by it. */
export const causeEntryId = (cause: string): string =>
  cause.startsWith(STALE_PREFIX) ? cause.slice(STALE_PREFIX.length) : cause

/** The cause of a stale demotion found when the entry `entryId` moved the stream time. */
export const staleCause = (entryId: string): string => STALE_PREFIX + entryId

const LAYER = Schema.String.check(Schema.isPattern(/^[0-3]$/, { message: "expected a layer 0-3" }))
const Wire = Schema.Struct({
  type: Schema.Literals(["SymbolQualified", "SymbolPromoted", "SymbolDemoted", "SymbolDisqualified"]),
  symbol: Schema.String.check(Schema.isPattern(SYMBOL_PATTERN, { message: `expected a symbol matching ${SYMBOL_PATTERN.source}` })),
  from: LAYER,
  to: LAYER,
  at: Schema.String.check(Schema.isPattern(/^\d{1,16}$/, { message: "expected event time in ms since the epoch" })),
  cause: Schema.String.check(Schema.isPattern(CAUSE, { message: "expected a stream entry ID <ms>-<seq>, or stale:<ms>-<seq>" }))
})
const decodeWire = Schema.decodeUnknownResult(Wire)
const decodeScore = Schema.decodeUnknownResult(Schema.FiniteFromString)
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const show = (v: string | undefined): string => JSON.stringify((v ?? "").length > 24 ? `${(v ?? "").slice(0, 24)}…` : v ?? "")
const reject = (reason: string): DecodedLifecycle => ({ ok: false, reason })

/** Decode one lifecycle entry, or name what is wrong with it. Never throws. */
export const decodeLifecycleEntry = (entry: StreamEntry): DecodedLifecycle => {
  const { fields } = entry
  if (fields.length > 2 * (CONTRACT.length + LIFECYCLE_LIMITS.maxScores)) {
    return reject(`too many fields: ${fields.length >> 1} > ${CONTRACT.length + LIFECYCLE_LIMITS.maxScores}`)
  }
  const duplicate = firstDuplicate(fields)
  if (duplicate !== undefined) return reject(`duplicate field ${show(duplicate)}`)
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string
    if (!CONTRACT_NAMES.has(name) && !FIELD_NAME.test(name)) return reject(`invalid field name ${show(name)}`)
    if ((fields[i + 1] as string).length > LIFECYCLE_LIMITS.maxValueLength) {
      return reject(`value of ${name} too long: ${(fields[i + 1] as string).length} > ${LIFECYCLE_LIMITS.maxValueLength} characters`)
    }
  }
  const f = fieldRecord(fields)
  const wire = decodeWire(f)
  if (Result.isFailure(wire)) {
    const issue = formatter(wire.failure.issue).issues[0]
    const name = String(issue?.path?.[0] ?? "?")
    return reject(name in f ? `invalid ${name} ${show(f[name])}: ${issue?.message ?? "malformed"}` : `missing ${name}`)
  }
  const w = wire.success
  const from = Number(w.from) as Layer
  const to = Number(w.to) as Layer
  if (from === to) return reject(`from and to are both ${from}: not a change of layer`)
  const type = lifecycleEventType(from, to)
  if (w.type !== type) return reject(`type ${w.type} does not match a move from ${from} to ${to} (${type})`)
  const at = Number(w.at)
  if (!isEventTime(at)) {
    return reject(`invalid at ${show(w.at)}: expected ms between ${new Date(MIN_EVENT_MS).toISOString()} and ${new Date(MAX_EVENT_MS).toISOString()}`)
  }
  const [ms = "", seq = ""] = causeEntryId(w.cause).split("-")
  if (BigInt(ms) > INT64_MAX || BigInt(seq) > INT64_MAX) return reject(`invalid cause ${show(w.cause)}: ID parts beyond 64-bit integers`)
  const scores: Record<string, number> = {}
  for (const [name, raw] of Object.entries(f)) {
    if (CONTRACT_NAMES.has(name)) continue
    const score = decodeScore(raw)
    if (!DECIMAL.test(raw) || Result.isFailure(score)) return reject(`score ${name} is not a finite decimal number: ${show(raw)}`)
    scores[name] = score.success
  }
  return { ok: true, event: { type, symbol: w.symbol, from, to, at, cause: w.cause, scores } }
}
