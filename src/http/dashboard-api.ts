/**
 * The dashboard's service inside the engine: starts the sampler (a reading every
 * SAMPLE_INTERVAL_MS, the last WINDOW_MS kept), hooks it to the ingest loop's commits,
 * and returns the routes to mount: the page and its files, `/api/overview`,
 * `/api/series` and `/api/symbol`. A failed reading is counted and logged and the next
 * one starts a new baseline; it never stops the loop.
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
import { overview } from "./overview.ts"
import { Sampler } from "./sampler.ts"
import { trimPlan } from "../../streams/trim-plan.ts"

export const SAMPLE_INTERVAL_MS = 2_000
export const WINDOW_MS = 15 * 60_000

export interface DashboardDeps {
  readonly config: Config
  readonly redis: Redis
  readonly sql: Sql
  readonly ingest: Ingest
  readonly projector: Projector
  readonly log: Logger
}

const rateLimitOf = (config: Config): number | null => {
  const rps = config.providers[config.backfill.provider].rate_limit.requests_per_second
  return rps > 0 ? rps : null
}

export const dashboardService = (d: DashboardDeps) =>
  Effect.gen(function* () {
    const processStartedAt = Date.now()
    const reader = new FigureReader({ redis: d.redis, sql: d.sql, ingress: d.ingest.ingress, keys: d.ingest.keys })
    const sampler = new Sampler(() => reader.read(), { intervalMs: SAMPLE_INTERVAL_MS, windowMs: WINDOW_MS, rateLimitPerS: rateLimitOf(d.config) })
    d.ingest.onCommit.push(sampler.observeCommit)
    yield* Effect.forkScoped(
      Effect.tryPromise({ try: () => sampler.sample(), catch: (e) => new StepError({ loop: "dashboard sampler", message: e instanceof Error ? e.message : String(e), cause: e }) }).pipe(
        Effect.catchTag("StepError", (e) => Effect.sync(() => d.log.warn({ err: e.message, failures: sampler.failures }, "dashboard sample failed; the next one starts a new baseline"))),
        Effect.repeat(Schedule.spaced(`${SAMPLE_INTERVAL_MS} millis`))
      )
    )
    const streams = trimPlan(d.config)
    const routes: Record<string, RouteHandler> = {
      ...dashboardRoutes(),
      "/api/overview": async (_req, res) => sendJson(res, 200, await overview({ redis: d.redis, sql: d.sql, ingest: d.ingest, projector: d.projector, sampler, processStartedAt, streams })),
      "/api/series": (_req, res) => sendJson(res, 200, sampler.series()),
      "/api/symbol": apiSymbolHandler({ redis: d.redis, sql: d.sql, snapshots: d.ingest.keys.snapshots })
    }
    return { sampler, routes }
  })
