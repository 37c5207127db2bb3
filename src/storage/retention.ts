/**
 * What a layer keeps, per series key (storage kind × interval), at a given instant: the
 * window [keepFrom, end) of all history kept and its hot part [hotFrom, end), read
 * through config/retention.ts like the backfill planner reads it.
 * Pure: `now` is a parameter.
 */
import { policyWindows, seriesKey } from "../../config/retention.ts"
import type { RetentionPolicy } from "../../config/schema.ts"
import { DATA_TYPES } from "../domain/data-types.ts"
import type { Layer } from "../domain/layers.ts"
import type { StorageKind } from "../domain/rows.ts"

export interface KeptWindow {
  readonly kind: StorageKind
  readonly interval: string
  /** Rows before this are past the layer's retention. */
  readonly keepFrom: number
  /** Rows at or after this are hot; [keepFrom, hotFrom) is cold. */
  readonly hotFrom: number
}

export { seriesKey }

/** The windows `layer` keeps at `now`, by seriesKey; a key absent from the map keeps nothing. */
export const keptWindows = (policy: RetentionPolicy, layer: Layer, now: number): Map<string, KeptWindow> => {
  const out = new Map<string, KeptWindow>()
  for (const [key, w] of policyWindows(policy, layer, DATA_TYPES, now)) {
    out.set(key, { kind: w.kind, interval: w.interval, keepFrom: w.from, hotFrom: w.hotFrom })
  }
  return out
}
