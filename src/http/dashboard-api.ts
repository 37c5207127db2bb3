/**
 * The dashboard's service inside the engine: starts the sampler (a reading every
 * SAMPLE_INTERVAL_MS, the last WINDOW_MS kept), hooks it to the ingest loop's commits,
 * and returns the routes to mount: the page and its files, `/api/overview`,
 * `/api/series` and `/api/symbol`. A failed reading is counted and logged and the next
 * one starts a new baseline; it never stops the loop. A read the overview leaves out is
 * counted and logged too, and the overview answers without it. The same page serves an install of
 * one partition and each engine of a partitioned install: the figures are the install's,
 * the commit latency that of the partitions this process runs (each ingest loop is hooked
 * once, when the sampler first sees it).
 * Runs inside the caller's scope; closing it stops the sampler.
 */
import { StepError } from "../services/errors.ts"
import type { Redis } from "ioredis"
import { Effect, Schedule } from "effect"
import type { Config } from "../../config/schema.ts"
import type { Ingest } from "../engine/ingest.ts"
import type { Projector } from "../engine/projector.ts"
import type { Logger } from "../services/logger.ts"
import type { Sql } from "../services/postgres.ts"
import { apiSymbolHandler } from "./api-symbol.ts"
import { dashboardRoutes } from "./dashboard.ts"
import { FigureReader } from "./figures.ts"
import { sendJson, type RouteHandler } from "./ops-server.ts"
import { overview, type OverviewReadFailure } from "./overview.ts"
import { Sampler } from "./sampler.ts"
import { trimPlan } from "../../streams/trim-plan.ts"
import { ingressKeys, installPartitionKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"

export const SAMPLE_INTERVAL_MS = 2_000
export const WINDOW_MS = 15 * 60_000

export interface DashboardDeps {
  readonly config: Config
  readonly redis: Redis
  readonly sql: Sql
  /** The ingest loops and projectors this process runs now: partition 0's, or those of the partitions it holds. */
  readonly running: () => readonly { readonly ingest: Ingest; readonly projector: Projector }[]
  readonly log: Logger
}

const rateLimitOf = (config: Config): number | null => {
  const rps = config.providers[config.backfill.provider].rate_limit.requests_per_second
  return rps > 0 ? rps : null
}

export const dashboardService = (d: DashboardDeps) =>
  Effect.gen(function* () {
    const processStartedAt = Date.now()
    const { prefix } = d.config.redis
    const ingress = ingressKeys(prefix)
    const partitions = d.config.partitions === 1 ? [partitionKeys(prefix, 0)] : installPartitionKeys(prefix, d.config.partitions)
    const reader = new FigureReader({ redis: d.redis, sql: d.sql, ingress, partitions })
    const hooked = new WeakSet<Ingest>()
    // A partition taken later brings a new ingest loop: hook it once, when first seen.
    const running = () => {
      const now = d.running()
      for (const r of now) if (!hooked.has(r.ingest)) {
        hooked.add(r.ingest)
        r.ingest.onCommit.push(sampler.observeCommit)
      }
      return now
    }
    const sampler = new Sampler(() => { running(); return reader.read() }, { intervalMs: SAMPLE_INTERVAL_MS, windowMs: WINDOW_MS, rateLimitPerS: rateLimitOf(d.config) })
    running()
    yield* Effect.forkScoped(
      Effect.tryPromise({ try: () => sampler.sample(), catch: (e) => new StepError({ loop: "dashboard sampler", message: e instanceof Error ? e.message : String(e), cause: e }) }).pipe(
        Effect.catchTag("StepError", (e) => Effect.sync(() => d.log.warn({ err: e.message, failures: sampler.failures }, "dashboard sample failed; the next one starts a new baseline"))),
        Effect.repeat(Schedule.spaced(`${SAMPLE_INTERVAL_MS} millis`))
      )
    )
    // This process's counters: the sum over the ingest loops it runs now.
    const stats = () => {
      const out: Record<string, number> = {}
      for (const r of running()) for (const [k, v] of Object.entries(r.ingest.stats)) out[k] = (out[k] ?? 0) + v
      return out
    }
    const source = d.config.partitions === 1
      ? { streams: trimPlan(d.config) }
      : { install: d.config }
    // Reads /api/overview could not make since this process started.
    let overviewFailures = 0
    const onReadFailure = (f: OverviewReadFailure) => {
      overviewFailures++
      d.log.warn({ ...f, failures: overviewFailures }, "overview read failed; the overview answers without it")
    }
    const routes: Record<string, RouteHandler> = {
      ...dashboardRoutes(),
      "/api/overview": async (_req, res) => sendJson(res, 200, await overview({
        redis: d.redis, sql: d.sql, ingress, partitions, sampler, processStartedAt, ...source,
        stats, projected: () => running().reduce((n, r) => n + r.projector.projected, 0), onReadFailure
      })),
      "/api/series": (_req, res) => sendJson(res, 200, sampler.series()),
      "/api/symbol": apiSymbolHandler({
        redis: d.redis, sql: d.sql,
        snapshots: d.config.partitions === 1 ? partitions[0]!.snapshots : (symbol) => partitions[symbolPartition(symbol, d.config.partitions)]!.snapshots
      })
    }
    return { sampler, routes }
  })
