/**
 * A backfill command as it travels on `strata:{p}:backfill` (DESIGN §4): decoding the
 * flat field list the engine and the CLI write, and building it for the CLI. Pure.
 * Does not decide what a command owes: that is the planner.
 */
import { DATA_TYPES, type DataType } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"
import { isValidSymbol, normaliseSymbol } from "../domain/symbols.ts"

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

export const fieldMap = (fields: readonly string[]): Record<string, string> => {
  const o: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] as string] = fields[i + 1] as string
  return o
}

const asLayer = (v: string | undefined): Layer | undefined => {
  const n = Number(v)
  return Number.isInteger(n) && n >= 0 && n <= 3 ? (n as Layer) : undefined
}

/** Decode a stream entry's fields; a string names what is wrong. */
export const decodeCommand = (fields: readonly string[]): BackfillCommand | string => {
  const f = fieldMap(fields)
  const symbol = normaliseSymbol(f["symbol"] ?? "")
  if (!isValidSymbol(symbol)) return `invalid symbol "${f["symbol"] ?? ""}"`
  const layer = asLayer(f["layer"])
  if (layer === undefined) return `invalid layer "${f["layer"] ?? ""}"`
  const at = Number(f["at"])
  if (!Number.isSafeInteger(at) || at <= 0) return `invalid at "${f["at"] ?? ""}"`
  const dataTypes = (f["data_types"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
  const unknown = dataTypes.filter((d) => !(DATA_TYPES as readonly string[]).includes(d))
  if (unknown.length > 0) return `unknown data types ${unknown.join(",")}`
  if (dataTypes.length === 0) return "no data_types"
  const priority = Number(f["priority"] ?? layer)
  return {
    id: f["id"] ?? `bf-${symbol}-${layer}-${at}`,
    symbol,
    layer,
    from: asLayer(f["from"]) ?? 0,
    dataTypes: dataTypes as DataType[],
    at,
    cause: f["cause"] ?? "",
    priority: Number.isFinite(priority) ? priority : layer
  }
}

/** The wire fields of a command, in the same order the engine writes them. */
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
