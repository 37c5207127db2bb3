/**
 * An estimate of the provider requests a backfill command costs when nothing is held yet:
 * the planner's own tasks for the command (src/backfill/planner.ts: the layer's windows
 * split into `backfill.chunk_days` chunks aligned to the epoch), times the requests one
 * task costs at the configured provider. Synthetic: one request per task. Polygon: bars
 * page by `providers.polygon.page_limit` rows (the bars of the provider's trading calendar's
 * sessions, early closes included), news by its
 * page of events, corporate actions ask for splits and dividends; what it has no source
 * of is skipped. Real counts are lower when coverage is already held (the planner
 * subtracts it); the estimate serves to compare two configurations.
 * Pure.
 */
import type { Config, DataType, Interval } from "../../config/schema.ts"
import { DATA_TYPES } from "../domain/data-types.ts"
import type { Layer } from "../domain/layers.ts"
import { calendarOf, sessionBarTimes, sessionsIn, type Calendar } from "../domain/calendar.ts"
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

/** News items per day the events page is sized against (about one every other day). */
const NEWS_PER_DAY = 0.5

/** Bars the calendar's sessions hold in [from, to) at `interval`. */
const barsIn = (cal: Calendar, interval: Interval, from: number, to: number): number => {
  let n = 0
  // Sessions touching the range (a day either side), then only their bars inside it, as the provider pages them.
  for (const s of sessionsIn(cal, { from: from - DAY_MS, to: to + DAY_MS })) for (const ts of sessionBarTimes(s, interval)) if (ts >= from && ts < to) n++
  return n
}

const pages = (rows: number, limit: number): number => Math.max(1, Math.ceil(rows / limit))

const polygonRequests = (task: FetchTask, pageLimit: number, cal: Calendar): number => {
  if (!polygonSupports(task.kind, task.interval)) return 0
  switch (task.kind) {
    case "bars": return pages(task.interval === "" || task.interval === "tick" ? 0 : barsIn(cal, task.interval, task.from, task.to), pageLimit)
    case "news": return pages(Math.ceil(((task.to - task.from) / DAY_MS) * NEWS_PER_DAY), POLYGON_EVENT_PAGE_LIMIT)
    case "corporate_actions": return 2
    default: return 0
  }
}

/** Requests one task costs at the configured provider. */
export const taskRequests = (config: EstimateConfig, task: FetchTask): number =>
  config.backfill.provider === "polygon"
    ? polygonRequests(task, config.providers.polygon.page_limit, calendarOf(config.providers.polygon.calendar))
    : 1

/** The tasks the planner makes of a command when nothing is held. */
export const plannedTasks = (config: EstimateConfig, command: EstimatedCommand): FetchTask[] => {
  const dataTypes = command.dataTypes.filter((d): d is DataType => (DATA_TYPES as readonly string[]).includes(d))
  if (dataTypes.length === 0) return []
  const targets = owedTargets(config.retention, command.layer, dataTypes, command.at)
  return tasksFor("", targets, new Map(), config.backfill.chunk_days, 0)
}

export const estimateRequests = (config: EstimateConfig, command: EstimatedCommand): number =>
  plannedTasks(config, command).reduce((n, t) => n + taskRequests(config, t), 0)
