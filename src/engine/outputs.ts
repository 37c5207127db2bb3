/**
 * What a transition owes beyond its lifecycle event: the backfill command of a move up,
 * with the data types the new layer's policy owes. Pure. The wire form of both streams
 * is theirs (streams/lifecycle-wire.ts, streams/backfill-wire.ts); this module decides
 * only what goes in them.
 */
import { policyWindows } from "../../config/retention.ts"
import { DATA_TYPES, type DataType, type RetentionPolicy } from "../../config/schema.ts"
import type { BackfillCommand } from "../../streams/backfill-wire.ts"
import type { Transition } from "../../streams/lifecycle-wire.ts"
import type { Layer } from "../domain/layers.ts"

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
export const owedCommand = (t: Transition, policy: RetentionPolicy): BackfillCommand | undefined => {
  if (t.to <= t.from) return undefined
  const dataTypes = owedDataTypes(policy, t.to)
  if (dataTypes.length === 0) return undefined
  return { id: `bf-${t.cause}`, symbol: t.symbol, layer: t.to, from: t.from, dataTypes, at: t.at, cause: t.cause, priority: t.to }
}
