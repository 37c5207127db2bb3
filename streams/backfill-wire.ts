/**
 * A backfill command as it travels on `<prefix>:{p}:backfill` (DESIGN §4): its encoder
 * (the one field order the engine and the CLI write) and its validating decoder (what the
 * workers read, hand-written entries included). Pure: no Redis here.
 * Does not decide what a command owes (the engine's outputs and the planner do).
 */
import { Result, Schema, SchemaIssue } from "effect"
import { DATA_TYPES, type DataType } from "../config/schema.ts"
import type { Layer } from "../src/domain/layers.ts"
import { isValidSymbol, normaliseSymbol } from "../src/domain/symbols.ts"
import { isEventTime, MAX_EVENT_MS, MIN_EVENT_MS } from "../src/domain/time.ts"
import { fieldRecord } from "./entry.ts"

export interface BackfillCommand {
  readonly id: string
  readonly symbol: string
  readonly layer: Layer
  /** The layer the symbol came from (the engine's commands; the CLI writes its current one). */
  readonly from: Layer
  readonly dataTypes: readonly DataType[]
  /** Event time (ms); the window ends at this UTC day. */
  readonly at: number
  readonly cause: string
  readonly priority: number
}

/** Commands issued by hand carry this cause; they are not shrunk by a later demotion. */
export const MANUAL_CAUSE = "manual"

/** The wire fields of a command: the public contract's order, whoever writes it. */
export const commandFields = (c: BackfillCommand): string[] => [
  "id", c.id,
  "symbol", c.symbol,
  "layer", String(c.layer),
  "from", String(c.from),
  "data_types", c.dataTypes.join(","),
  "at", String(c.at),
  "cause", c.cause,
  "priority", String(c.priority)
]

// Ids and causes name progress rows and log lines: printable, and short enough to read.
const TEXT = /^[\x21-\x7e]{1,200}$/
const CAUSE = /^[\x21-\x7e]{0,200}$/
const LAYER = /^[0-3]$/
const INTEGER = /^-?\d{1,16}$/

const Wire = Schema.Struct({
  id: Schema.optional(Schema.String.check(Schema.isPattern(TEXT))),
  symbol: Schema.String,
  layer: Schema.String.check(Schema.isPattern(LAYER)),
  from: Schema.optional(Schema.String.check(Schema.isPattern(LAYER))),
  data_types: Schema.String,
  at: Schema.String.check(Schema.isPattern(/^\d{1,16}$/)),
  cause: Schema.optional(Schema.String.check(Schema.isPattern(CAUSE))),
  priority: Schema.optional(Schema.String.check(Schema.isPattern(INTEGER)))
})
const decodeWire = Schema.decodeUnknownResult(Wire)
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const show = (v: string | undefined): string => JSON.stringify((v ?? "").length > 40 ? `${(v ?? "").slice(0, 40)}…` : v ?? "")

/**
 * Decode a command entry's fields; a string names what is wrong. Unknown fields are
 * ignored (a later writer may add some); `id`, `from`, `cause` and `priority` default as
 * the first CLI wrote them.
 */
export const decodeCommand = (fields: readonly string[]): BackfillCommand | string => {
  const f = fieldRecord(fields)
  const symbol = normaliseSymbol(f["symbol"] ?? "")
  if (!isValidSymbol(symbol)) return `invalid symbol ${show(f["symbol"])}`
  const wire = decodeWire(f)
  if (Result.isFailure(wire)) {
    const name = String(formatter(wire.failure.issue).issues[0]?.path?.[0] ?? "?")
    return name in f ? `invalid ${name} ${show(f[name])}` : `missing ${name}`
  }
  const w = wire.success
  const layer = Number(w.layer) as Layer
  const at = Number(w.at)
  // The CLI's bounds: outside them a window names no real day (year 0NaN, 1969).
  if (!isEventTime(at)) {
    return `invalid at ${show(w.at)}: expected ms between ${new Date(MIN_EVENT_MS).toISOString()} and ${new Date(MAX_EVENT_MS).toISOString()}`
  }
  const dataTypes = w.data_types.split(",").map((s) => s.trim()).filter((s) => s !== "")
  const unknown = dataTypes.filter((d) => !(DATA_TYPES as readonly string[]).includes(d))
  if (unknown.length > 0) return `unknown data types ${unknown.slice(0, 8).join(",")}`.slice(0, 200)
  if (dataTypes.length === 0) return "no data_types"
  return {
    id: w.id ?? `bf-${symbol}-${layer}-${at}`,
    symbol,
    layer,
    from: w.from === undefined ? 0 : (Number(w.from) as Layer),
    dataTypes: [...new Set(dataTypes)] as DataType[],
    at,
    cause: w.cause ?? "",
    priority: w.priority === undefined ? layer : Number(w.priority)
  }
}
