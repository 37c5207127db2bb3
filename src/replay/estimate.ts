/**
 * An estimate of the provider requests a backfill command costs when nothing is held yet:
 * the planner's own tasks for the command (src/backfill/planner.ts: the layer's windows
 * split into `backfill.chunk_days` chunks aligned to the epoch), times the requests one
 * task costs at the configured provider. Synthetic: one request per task. Polygon: bars
 * page by `providers.polygon.page_limit` rows (weekday sessions of 6.5 hours), news by its
 * page of events, corporate actions ask for splits and dividends; what it has no source
 * of is skipped. Real counts are lower when coverage is already held (the planner
 * subtracts it); the estimate serves to compare two configurations.
 * Pure.
 */
import type { Config, DataType, Interval } from "../../config/schema.ts"
import { DATA_TYPES } from "../domain/data-types.ts"
import type { Layer } from "../domain/layers.ts"
import { DAY_MS } from "../domain/time.ts"
import { owedTargets, tasksFor, type FetchTask } from "../backfill/planner.ts"
import { POLYGON_EVENT_PAGE_LIMIT, polygonSupports } from "../backfill/providers/polygon.ts"

/** What the estimate reads of a configuration. */
export type EstimateConfig = Pick<Config, "retention" | "backfill" | "providers">

export interface EstimatedCommand {
  readonly layer: Layer
  readonly dataTypes: readonly string[]
  /** The command's event time: it places the window and so the chunk boundaries. */
  readonly at: number
}

/** Bars per weekday session (14:30–21:00 UTC), by interval. */
const BARS_PER_SESSION: Record<Interval, number> = { "1day": 1, "1hour": 7, "5min": 78, "1min": 390, tick: 0 }
/** News items per day the events page is sized against (about one every other day). */
const NEWS_PER_DAY = 0.5

const weekdaysIn = (from: number, to: number): number => {
  let n = 0
  for (let d = Math.floor(from / DAY_MS) * DAY_MS; d < to; d += DAY_MS) {
    const dow = new Date(d).getUTCDay()
    if (dow !== 0 && dow !== 6) n++
  }
  return n
}

const pages = (rows: number, limit: number): number => Math.max(1, Math.ceil(rows / limit))

const polygonRequests = (task: FetchTask, pageLimit: number): number => {
  if (!polygonSupports(task.kind, task.interval)) return 0
  switch (task.kind) {
    case "bars": return pages(weekdaysIn(task.from, task.to) * (task.interval === "" ? 0 : BARS_PER_SESSION[task.interval]), pageLimit)
    case "news": return pages(Math.ceil(((task.to - task.from) / DAY_MS) * NEWS_PER_DAY), POLYGON_EVENT_PAGE_LIMIT)
    case "corporate_actions": return 2
    default: return 0
  }
}

/** Requests one task costs at the configured provider. */
export const taskRequests = (config: EstimateConfig, task: FetchTask): number =>
  config.backfill.provider === "polygon" ? polygonRequests(task, config.providers.polygon.page_limit) : 1

/** The tasks the planner makes of a command when nothing is held. */
export const plannedTasks = (config: EstimateConfig, command: EstimatedCommand): FetchTask[] => {
  const dataTypes = command.dataTypes.filter((d): d is DataType => (DATA_TYPES as readonly string[]).includes(d))
  if (dataTypes.length === 0) return []
  const targets = owedTargets(config.retention, command.layer, dataTypes, command.at)
  return tasksFor("", targets, new Map(), config.backfill.chunk_days, 0)
}

export const estimateRequests = (config: EstimateConfig, command: EstimatedCommand): number =>
  plannedTasks(config, command).reduce((n, t) => n + taskRequests(config, t), 0)
