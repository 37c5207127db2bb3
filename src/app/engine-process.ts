/**
 * The engine as a long-running service: resolves Redis and PostgreSQL (private servers
 * when none is configured), takes the partition lease (refusing to start beside a live
 * engine on the same install), migrates the tables, then runs the ingest loop, the companies
 * projector, the backfill workers (backfill.enabled), tiering and stream trimming as Effect fibers, the scores archive (archive.enabled)
 * in a worker thread of its own (src/engine/archive-thread.ts), and
 * serves the HTTP port (dashboard, JSON API, metrics, health) until interrupted. Each loop retries a failed step on a
 * capped, jittered exponential schedule; the step itself is atomic, so an interrupt or a
 * crash never leaves a batch half applied. Closing the scope stops the loops, closes the
 * connections, gives the lease up and stops the private servers, in that order.
 * The application layer: the one place where engine, backfill workers and the HTTP face
 * meet; none of them imports another's wiring. Does not hold engine logic itself.
 */
import { Effect, Schedule } from "effect"
import type { Config } from "../../config/schema.ts"
import { ConfigService } from "../services/config.ts"
import { StoresService } from "../services/infrastructure.ts"
import { LoggerService, type Logger } from "../services/logger.ts"
import { ObjectStoreService } from "../services/object-store.ts"
import { PostgresService } from "../services/postgres.ts"
import { acquire, withProcess } from "../services/process.ts"
import { RedisService } from "../services/redis.ts"
import { RETRY_STEP } from "../services/retry.ts"
import { redisError, StepError } from "../services/errors.ts"
import { configError } from "../../config/load.ts"
import { sendJson, startOpsServer, type RouteHandler } from "../http/ops-server.ts"
import { COMPANIES_DDL } from "../engine/companies-schema.ts"
import { dashboardService } from "../http/dashboard-api.ts"
import { engineMetrics } from "../http/metrics.ts"
import { Ingest } from "../engine/ingest.ts"
import { acquireAtStart, keepLease, LeaseHeldError, releaseLease } from "../engine/lease-keeper.ts"
import { PartitionLease } from "../../streams/lease.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { Projector } from "../engine/projector.ts"
import { workers } from "./worker-process.ts"
import { engineReadiness } from "./readiness.ts"
import { apiBarsHandler } from "../http/api-bars.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { engineTiering } from "../engine/tiering.ts"
import { engineTrimming } from "../engine/trimming.ts"
import { streamMetrics } from "../http/stream-metrics.ts"
import { trimPlan } from "../../streams/trim-plan.ts"
import { archiveThread } from "../engine/archive-thread.ts"
import { loopForever } from "./engine-loop.ts"
import { partitionedEngine } from "./partitioned-engine.ts"
import { installGuard } from "./install-guard.ts"


export { loopForever } from "./engine-loop.ts"

export interface EngineHandles {
  readonly ingest: Ingest
  readonly projector: Projector
  readonly redisUrl: string
  readonly databaseUrl: string
  /** The port the HTTP server listens on (http.port, or the one picked for 0). */
  readonly httpPort: number
}

/** Build and start the engine of an install of one partition inside the current scope; returns once its fibers run. */
export const startEngine = (config: Config, log: Logger, routes: Readonly<Record<string, RouteHandler>> = {}) =>
  Effect.gen(function* () {
    if (config.partitions > 1) {
      return yield* Effect.fail(configError([`partitions is ${config.partitions}: this install runs partitioned engines (startPartitionedEngine)`]))
    }
    return yield* engine(routes).pipe(withProcess(config, log))
  })

/** Build and start one engine of a partitioned install inside the current scope. */
export const startPartitionedEngine = (config: Config, log: Logger, routes: Readonly<Record<string, RouteHandler>> = {}) =>
  Effect.gen(function* () {
    return yield* partitionedEngine(routes).pipe(withProcess(config, log))
  })

/** The engine over the process's services (config, logger, stores). */
const engine = (routes: Readonly<Record<string, RouteHandler>>) =>
  Effect.gen(function* () {
    const config = yield* ConfigService
    const log = yield* LoggerService
    const infra = yield* StoresService
    const redis = yield* acquire(RedisService.layer("strata-ingest-writes"), RedisService)
    const reads = yield* redis.connection("strata-ingest-reads")
    const writes = redis.client
    const projectorRedis = yield* redis.connection("strata-projector")
    // Nothing that writes the install starts before this process holds the lease.
    if (config.lease.ttl_ms < 4 * config.ingest.block_ms) {
      return yield* Effect.fail(configError([`lease.ttl_ms (${config.lease.ttl_ms}) must be at least 4 × ingest.block_ms (${config.ingest.block_ms})`]))
    }
    const lease = new PartitionLease(writes, partitionKeys(config.redis.prefix, 0), config.lease.ttl_ms)
    yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => acquireAtStart(lease, config.redis.prefix, log), catch: (e) => (e instanceof LeaseHeldError ? e : redisError("take the lease", e)) }),
      () => releaseLease(lease, log)
    )
    // Checked once the lease is held: a move to more partitions marks the record before it
    // looks for a holder, so either it sees this lease or this check sees its mark.
    yield* installGuard(writes, config)
    log.info({ partition: 0, owner: lease.owner, epoch: lease.epoch }, "holding the partition lease")
    yield* Effect.forkScoped(keepLease(lease, log))
    // One migration at a time: concurrent CREATE TABLE IF NOT EXISTS of one table can collide.
    const { sql } = yield* acquire(PostgresService.layer({ max: 6, migrations: [...COMPANIES_DDL, ...STORAGE_DDL] }), PostgresService)
    const store = yield* acquire(ObjectStoreService.layer, ObjectStoreService)
    const ingest = new Ingest(reads, writes, config, log, lease)
    const projector = new Projector(projectorRedis, sql, ingest.keys, log, config.projector.batch_size, config.ingest.block_ms)
    yield* Effect.tryPromise(() => ingest.init())
    yield* Effect.tryPromise(() => projector.init())
    yield* Effect.forkScoped(loopForever("ingest", () => ingest.runOnce(), log))
    yield* Effect.forkScoped(loopForever("projector", () => projector.runOnce(), log))
    if (config.backfill.enabled) yield* workers()
    const tieringFeed = yield* redis.connection("strata-tiering-feed")
    yield* engineTiering(config, { redis: writes, feedRedis: tieringFeed, sql, store, log })
    const trimRedis = yield* redis.connection("strata-trimming")
    yield* engineTrimming(config, { redis: trimRedis, lease, log })
    if (config.archive.enabled) {
      // Its own thread, Redis connection and object store: encoding parts costs this loop nothing.
      yield* Effect.forkScoped(archiveThread(config, { redisUrl: redis.url, lease, log }))
    }
    yield* Effect.forkScoped(
      Effect.sync(() => log.info({ ...ingest.stats, actorsCached: ingest.store.size, projected: projector.projected }, "engine stats")).pipe(
        Effect.repeat(Schedule.spaced("30 seconds"))
      )
    )
    const metrics = engineMetrics(ingest, projector, writes, sql)
    streamMetrics(metrics.registry, trimRedis, trimPlan(config))
    const dashboard = yield* dashboardService({ config, redis: writes, sql, running: () => [{ ingest, projector }], log })
    const http = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startOpsServer({
          host: config.http.host,
          port: config.http.port,
          registry: metrics.registry,
          log,
          readiness: engineReadiness(writes, sql),
          routes: {
            ...dashboard.routes,
            "/api/bars": apiBarsHandler({ sql, store }, { log }),
            "/api/status": (_req, res) => sendJson(res, 200, { ingest: ingest.stats, actorsInMemory: ingest.store.size, projected: projector.projected }),
            ...routes
          }
        }),
        catch: (e) => new StepError({ loop: "http", message: `cannot serve the HTTP port: ${e instanceof Error ? e.message : String(e)}`, cause: e })
      }),
      (h) => Effect.promise(() => h.close())
    )
    log.info({ scores: ingest.ingress.scores, lifecycle: ingest.keys.lifecycle, backfill: ingest.keys.backfill, http: `http://${config.http.host}:${http.port}` }, "engine running")
    return { ingest, projector, redisUrl: infra.redisUrl, databaseUrl: infra.databaseUrl, httpPort: http.port } satisfies EngineHandles
  })
