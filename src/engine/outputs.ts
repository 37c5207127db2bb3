/**
 * Wire form of what a transition publishes: lifecycle entries and backfill commands, as
 * flat field/value lists in a fixed order (the public stream contract, DESIGN §4), so the
 * same input always gives byte-identical entries. Pure.
 */
import { policyWindows } from "../../config/retention.ts"
import { DATA_TYPES, type DataType, type RetentionPolicy } from "../../config/schema.ts"
import { lifecycleEventType, type Layer } from "../domain/layers.ts"

export interface Transition {
  readonly symbol: string
  readonly from: Layer
  readonly to: Layer
  readonly at: number
  readonly cause: string
  readonly scores: Readonly<Record<string, number>>
}

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

// Read once per policy and layer: a transition up is on the ingest path.
const owedCache = new WeakMap<RetentionPolicy, Map<Layer, DataType[]>>()

/**
 * Data types a layer's policy owes any history, in the canonical order: those with at
 * least one window when the policy is read through config/retention.ts.
 */
export const owedDataTypes = (policy: RetentionPolicy, layer: Layer): DataType[] => {
  let byLayer = owedCache.get(policy)
  if (!byLayer) owedCache.set(policy, (byLayer = new Map()))
  let owed = byLayer.get(layer)
  if (!owed) {
    owed = DATA_TYPES.filter((dt) => policyWindows(policy, layer, [dt], 0).size > 0)
    byLayer.set(layer, owed)
  }
  return owed
}

/**
 * The backfill command a transition owes, if any: a move up owes the new layer's history
 * (what is already held is subtracted by the planner). A move down owes nothing; the
 * lifecycle event lets workers and tiering shrink instead.
 */
export const backfillFields = (t: Transition, policy: RetentionPolicy): string[] | undefined => {
  if (t.to <= t.from) return undefined
  const dataTypes = owedDataTypes(policy, t.to)
  if (dataTypes.length === 0) return undefined
  return [
    "id", `bf-${t.cause}`,
    "symbol", t.symbol,
    "layer", String(t.to),
    "from", String(t.from),
    "data_types", dataTypes.join(","),
    "at", String(t.at),
    "cause", t.cause,
    "priority", String(t.to)
  ]
}
