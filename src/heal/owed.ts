/**
 * What a layer is owed, session by session: for each bar interval of its policy (the
 * planner's windows, config/retention.ts), the trading sessions inside the window that
 * have closed by `now`, with the bars each holds (calendar.ts) and the tier it is owed
 * in (hot from the window's hot boundary on). Ticks have no fixed count and are not
 * judged. Pure: `now` is a parameter.
 */
import { policyWindows } from "../../config/retention.ts"
import type { DataType, Interval, RetentionPolicy } from "../../config/schema.ts"
import { sessionBarTimes, sessionsIn, type Calendar, type Session } from "../domain/calendar.ts"
import type { Layer } from "../domain/layers.ts"
import type { Tier } from "../backfill/planner.ts"

/** The data types whose rows are bars: the only ones judged session by session. */
export const BAR_DATA_TYPES: readonly DataType[] = ["market_data", "intraday"]

export interface OwedSession {
  readonly session: Session
  readonly expected: number
  readonly tier: Tier
}

export interface OwedSeries {
  readonly interval: Interval
  readonly dataTypes: readonly DataType[]
  readonly from: number
  readonly to: number
  readonly hotFrom: number
  readonly sessions: readonly OwedSession[]
}

export const owedSessions = (
  policy: RetentionPolicy, cal: Calendar, layer: Layer, dataTypes: readonly DataType[], now: number
): OwedSeries[] => {
  const out: OwedSeries[] = []
  const types = dataTypes.filter((t) => BAR_DATA_TYPES.includes(t))
  for (const w of policyWindows(policy, layer, types, now).values()) {
    if (w.kind !== "bars" || w.interval === "" || w.interval === "tick") continue
    const interval = w.interval
    const sessions = sessionsIn(cal, { from: w.from, to: w.to })
      .filter((s) => s.close <= now)
      .map((s) => ({ session: s, expected: sessionBarTimes(s, interval).length, tier: (s.day >= w.hotFrom ? "hot" : "cold") as Tier }))
    out.push({ interval, dataTypes: w.dataTypes, from: w.from, to: w.to, hotFrom: w.hotFrom, sessions })
  }
  return out
}
