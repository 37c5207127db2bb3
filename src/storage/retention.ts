/**
 * What a layer keeps, per series key (storage kind × interval), at a given instant: the
 * window [keepFrom, end) of all history kept and its hot part [hotFrom, end), where `end`
 * is the end of the UTC day holding `now`. Data types sharing a key (market_data and
 * intraday both hold 5min bars) are joined: the widest window and widest hot part win —
 * the same reading of the policy the backfill planner uses, so tiering never removes
 * what a backfill of the same layer would fetch again.
 * Pure: `now` is a parameter.
 */
import type { DataType, Interval, RetentionPolicy } from "../../config/schema.ts"
import { DATA_TYPES } from "../domain/data-types.ts"
import type { Layer } from "../domain/layers.ts"
import { storageKindOf, type StorageKind } from "../domain/rows.ts"
import { DAY_MS, utcDay } from "../domain/time.ts"

export interface KeptWindow {
  readonly kind: StorageKind
  readonly interval: string
  /** Rows before this are past the layer's retention. */
  readonly keepFrom: number
  /** Rows at or after this are hot; [keepFrom, hotFrom) is cold. */
  readonly hotFrom: number
}

export const seriesKey = (kind: StorageKind, interval: string) => `${kind}|${interval}`

const intervalsOf = (dataType: DataType, intervals: readonly Interval[] | undefined): readonly string[] => {
  if (dataType !== "market_data" && dataType !== "intraday") return [""]
  return intervals ?? (dataType === "market_data" ? ["1day"] : [])
}

const hotDaysOf = (hot: number | Readonly<Partial<Record<Interval, number>>>, interval: string): number => {
  if (typeof hot === "number") return hot
  if (interval === "") return Math.max(0, ...Object.values(hot).map(Number))
  return hot[interval as Interval] ?? 0
}

/** The windows `layer` keeps at `now`, by seriesKey; a key absent from the map keeps nothing. */
export const keptWindows = (policy: RetentionPolicy, layer: Layer, now: number): Map<string, KeptWindow> => {
  const end = utcDay(now) + DAY_MS
  const out = new Map<string, KeptWindow>()
  for (const dataType of DATA_TYPES) {
    const p = policy[`L${layer}`][dataType]
    if (!p) continue
    const kind = storageKindOf(dataType)
    for (const interval of intervalsOf(dataType, p.intervals)) {
      const hotDays = hotDaysOf(p.hot_days, interval)
      const days = Math.max(p.cold_days, hotDays)
      if (days <= 0) continue
      const key = seriesKey(kind, interval)
      const prev = out.get(key)
      const keepFrom = end - days * DAY_MS
      const hotFrom = end - hotDays * DAY_MS
      out.set(key, {
        kind, interval,
        keepFrom: Math.min(prev?.keepFrom ?? keepFrom, keepFrom),
        hotFrom: Math.min(prev?.hotFrom ?? hotFrom, hotFrom)
      })
    }
  }
  return out
}
