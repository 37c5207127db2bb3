/**
 * The backfill planner: command × retention policy × coverage already held → fetch tasks.
 * Pure: no I/O, no clock. The window of a data type is the `max(cold_days, hot_days)` UTC
 * days that end with (and include) the command's event day; its last `hot_days` days are
 * the hot part. Coverage is what was fetched before (days with no data included), so it
 * is subtracted as is. What is left is split at the hot boundary and into provider-sized
 * chunks aligned to the epoch, so a re-plan after a crash asks for the same chunks.
 * Does not fetch, write or read coverage: the worker does, and re-plans after each task.
 */
import { policyWindows } from "../../config/retention.ts"
import type { DataType, Interval, RetentionPolicy } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"
import type { StorageKind } from "../domain/rows.ts"
import { seriesKey, type SeriesInterval, type SeriesOfAnySymbol, type SeriesRange } from "../domain/series.ts"
import { DAY_MS } from "../domain/time.ts"
import { mergeRanges, splitAligned, subtractRanges, type Range } from "../domain/ranges.ts"

export type Tier = "hot" | "cold"

/** What a layer owes of one series (the same for every symbol): its window and hot part. */
export interface Target extends SeriesOfAnySymbol {
  readonly dataTypes: readonly DataType[]
  readonly window: Range
  /** Rows at or after this instant are hot; the window's earlier part is cold. */
  readonly hotFrom: number
}

/** A range of a series to fetch, with the tier its rows start in and the command's priority. */
export interface FetchTask extends SeriesRange {
  readonly tier: Tier
  readonly hotFrom: number
  readonly priority: number
}

/** Days per task by bar interval; `events` for the kinds without bars. */
export type ChunkDays = Readonly<Record<Interval | "events", number>>

export const coverageKey = (kind: StorageKind, interval: SeriesInterval): string => seriesKey(kind, interval)

/**
 * What `layer` owes, per coverage key, for the command's data types and event time
 * (config/retention.ts: data types sharing a key are joined, the widest window wins).
 */
export const owedTargets = (
  policy: RetentionPolicy, layer: Layer, dataTypes: readonly DataType[], at: number
): Target[] =>
  [...policyWindows(policy, layer, dataTypes, at).values()].map((w) => ({
    kind: w.kind, interval: w.interval, dataTypes: w.dataTypes, window: { from: w.from, to: w.to }, hotFrom: w.hotFrom
  }))

/** Coverage already held, by `coverageKey`; absent keys hold nothing. */
export type Coverage = ReadonlyMap<string, readonly Range[]>

/** The tasks that complete `targets` given `coverage`: hot before cold, recent before old. */
export const tasksFor = (
  symbol: string, targets: readonly Target[], coverage: Coverage, chunkDays: ChunkDays, priority: number
): FetchTask[] => {
  const tasks: FetchTask[] = []
  for (const t of targets) {
    const held = mergeRanges(coverage.get(coverageKey(t.kind, t.interval)) ?? [])
    const step = chunkDays[t.interval === "" ? "events" : t.interval] * DAY_MS
    for (const gap of subtractRanges(t.window, held)) {
      for (const r of splitAligned(gap, step, [t.hotFrom])) {
        tasks.push({
          symbol, kind: t.kind, interval: t.interval, from: r.from, to: r.to,
          tier: r.from >= t.hotFrom ? "hot" : "cold", hotFrom: t.hotFrom, priority
        })
      }
    }
  }
  return tasks.sort(compareTasks)
}

/** Higher priority first; then hot before cold; then the most recent first. */
export const compareTasks = (a: FetchTask, b: FetchTask): number =>
  b.priority - a.priority ||
  (a.tier === b.tier ? 0 : a.tier === "hot" ? -1 : 1) ||
  b.to - a.to ||
  a.kind.localeCompare(b.kind) ||
  a.interval.localeCompare(b.interval)

export interface PlanInput {
  readonly symbol: string
  readonly layer: Layer
  readonly dataTypes: readonly DataType[]
  readonly at: number
  readonly priority: number
}

/** One command's plan. */
export const plan = (cmd: PlanInput, policy: RetentionPolicy, coverage: Coverage, chunkDays: ChunkDays): FetchTask[] =>
  tasksFor(cmd.symbol, owedTargets(policy, cmd.layer, cmd.dataTypes, cmd.at), coverage, chunkDays, cmd.priority)

/** Several commands' plans, higher layers (priority) first. */
export const planMany = (
  cmds: readonly PlanInput[], policy: RetentionPolicy, coverageOf: (symbol: string) => Coverage, chunkDays: ChunkDays
): FetchTask[] => cmds.flatMap((c) => plan(c, policy, coverageOf(c.symbol), chunkDays)).sort(compareTasks)

/**
 * The layer a command is still owed at: a symbol demoted or disqualified since the command
 * was issued is owed only its current layer's history (the rest is cancelled). Manual
 * commands, and symbols with no actor yet, keep the command's layer.
 */
export const effectiveLayer = (commandLayer: Layer, currentLayer: Layer | undefined, manual: boolean): Layer =>
  manual || currentLayer === undefined ? commandLayer : (Math.min(commandLayer, currentLayer) as Layer)
