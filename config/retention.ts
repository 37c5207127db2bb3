/**
 * The retention policy read per series (storage kind × interval): for a layer, some data
 * types and an instant, the window of history kept [from, to) and its hot part
 * [hotFrom, to), where `to` is the end of the UTC day holding the instant. Data types
 * sharing a series (market_data and intraday both hold 5min bars) are joined: the widest
 * window and the widest hot part win. The backfill planner (what a layer is owed) and
 * tiering (what a layer keeps) both read the policy through this one function, so tiering
 * never removes what a backfill of the same layer would fetch again.
 * Pure: the instant is a parameter.
 */
import type { DataType, Interval } from "../src/domain/data-types.ts"
import type { Layer } from "../src/domain/layers.ts"
import { storageKindOf, type StorageKind } from "../src/domain/rows.ts"
import { seriesKey, type SeriesInterval, type SeriesOfAnySymbol } from "../src/domain/series.ts"
import { DAY_MS, utcDay } from "../src/domain/time.ts"
import type { RetentionPolicy } from "./schema.ts"

export { seriesKey, type SeriesInterval }

/** The window of one series a layer keeps (or is owed): [from, to), hot from `hotFrom`. */
export interface PolicyWindow extends SeriesOfAnySymbol {
  /** The data types of the policy that own this series. */
  readonly dataTypes: readonly DataType[]
  readonly from: number
  readonly hotFrom: number
  readonly to: number
}

const BAR_TYPES: readonly DataType[] = ["market_data", "intraday"]

const intervalsOf = (dataType: DataType, intervals: readonly Interval[] | undefined): readonly SeriesInterval[] => {
  if (!BAR_TYPES.includes(dataType)) return [""]
  return intervals ?? (dataType === "market_data" ? ["1day"] : [])
}

/** Hot days of one interval; for a kind without bars, the widest of a per-interval table. */
export const hotDaysOf = (hot: number | Readonly<Partial<Record<Interval, number>>>, interval: SeriesInterval): number => {
  if (typeof hot === "number") return hot
  if (interval === "") return Math.max(0, ...Object.values(hot).map(Number))
  return hot[interval] ?? 0
}

/** The windows of `layer` for `dataTypes` at instant `at`, by seriesKey; an absent key keeps nothing. */
export const policyWindows = (
  policy: RetentionPolicy, layer: Layer, dataTypes: readonly DataType[], at: number
): Map<string, PolicyWindow> => {
  const to = utcDay(at) + DAY_MS
  const out = new Map<string, PolicyWindow>()
  for (const dataType of dataTypes) {
    const p = policy[`L${layer}`][dataType]
    if (!p) continue
    const kind = storageKindOf(dataType)
    for (const interval of intervalsOf(dataType, p.intervals)) {
      const hotDays = hotDaysOf(p.hot_days, interval)
      const days = Math.max(p.cold_days, hotDays)
      if (days <= 0) continue
      const key = seriesKey(kind, interval)
      const prev = out.get(key)
      const from = to - days * DAY_MS
      const hotFrom = to - hotDays * DAY_MS
      out.set(key, {
        kind, interval, to,
        dataTypes: prev ? [...prev.dataTypes, dataType] : [dataType],
        from: Math.min(prev?.from ?? from, from),
        hotFrom: Math.min(prev?.hotFrom ?? hotFrom, hotFrom)
      })
    }
  }
  return out
}
