/**
 * The backfill workers as a service inside a scope: migrates the storage and progress
 * tables, opens the object store, the provider and its shared rate limiter, creates the
 * workers' group on every partition's backfill stream, and forks `backfill.workers`
 * worker fibers, each reading every partition's stream in turn (backfill/rotation.ts) on
 * its own Redis connection for blocking reads. Closing the scope stops the fibers, then releases the clients.
 * Used by `npm run engine` (when `backfill.enabled`) and alone by `npm run workers`.
 * Does not resolve or start Redis/PostgreSQL: the caller passes their URLs. The application
 * layer: backfill/ holds the worker logic, this module only wires it into a process.
 */
import { Effect } from "effect"
import type { Config } from "../../config/schema.ts"
import { ConfigService } from "../services/config.ts"
import { StoresService } from "../services/infrastructure.ts"
import { LoggerService, type Logger } from "../services/logger.ts"
import { ObjectStoreService } from "../services/object-store.ts"
import { PostgresService } from "../services/postgres.ts"
import { acquire, withProcess } from "../services/process.ts"
import { RedisService } from "../services/redis.ts"
import { learnSecrets } from "../services/secrets.ts"
import { RETRY_STEP } from "../services/retry.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { ensureGroup, forgetIdleConsumers } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { PROGRESS_DDL } from "../backfill/progress.ts"
import { openProvider } from "../backfill/providers/index.ts"
import { newCounters, workerLoop, type WorkerCounters, type WorkerDeps } from "../backfill/worker.ts"
import { HEAL_DDL } from "../heal/ledger.ts"
import { healFiber } from "../heal/schedule.ts"
import { installGuard } from "./install-guard.ts"


export interface WorkerUrls {
  readonly redisUrl: string
  readonly databaseUrl: string
}

export const BACKFILL_DDL: readonly string[] = [...STORAGE_DDL, ...PROGRESS_DDL, ...HEAL_DDL]

/** The workers at `urls` (stores already resolved by the caller), inside the current scope. */
export const startWorkers = (config: Config, log: Logger, urls: WorkerUrls, env: NodeJS.ProcessEnv = process.env) =>
  Effect.gen(function* () {
    return yield* workers(env).pipe(withProcess(config, log, urls))
  })

/** The worker fibers over the process's services (config, logger, stores). */
export const workers = (env: NodeJS.ProcessEnv = process.env) =>
  Effect.gen(function* () {
    const config = yield* ConfigService
    const log = yield* LoggerService
    const urls = yield* StoresService
    const counters = newCounters()
    const n = config.backfill.workers
    if (n === 0) return counters
    learnSecrets(env, [urls.redisUrl, urls.databaseUrl, config.redis.url, config.postgres.url])
    const { sql } = yield* acquire(PostgresService.layer({ max: Math.min(10, n + 2), migrations: BACKFILL_DDL }), PostgresService)
    const store = yield* acquire(ObjectStoreService.layer, ObjectStoreService)
    const { provider } = yield* Effect.acquireRelease(
      Effect.sync(() => openProvider(config, urls.redisUrl, env, (source, err) => {
        counters.limiterFailures++
        const line = { source, err: err instanceof Error ? err.message : String(err), failures: counters.limiterFailures }
        // Connection errors come in bursts while Redis is away (the client reconnects): debug, as every connection's.
        if (source === "connection") log.debug(line, "rate limiter connection error")
        else log.warn(line, "rate limiter failed; requests wait for Redis")
      })),
      (p) => Effect.promise(() => p.limiter.close())
    )
    const redis = yield* acquire(RedisService.layer("strata-backfill-control"), RedisService)
    const control = redis.client
    yield* installGuard(control, config)
    const partitions = Array.from({ length: config.partitions }, (_, p) => partitionKeys(config.redis.prefix, p, config.partitions))
    const deps: WorkerDeps = {
      sql, store, redis: control, provider, policy: config.retention,
      backfill: config.backfill, partitions, log, counters,
      unsettled: (what, err) => {
        counters.progressWriteFailures++
        log.warn({ what, err: String(err), failures: counters.progressWriteFailures }, "backfill progress write failed; the work goes on")
      }
    }
    yield* Effect.tryPromise(async () => {
      for (const keys of partitions) {
        await ensureGroup(control, keys.backfill, GROUPS.workers)
        await forgetIdleConsumers(control, keys.backfill, GROUPS.workers, Math.max(3_600_000, 10 * config.backfill.claim_idle_ms))
      }
    })
    for (let i = 0; i < n; i++) {
      const reads = yield* redis.connection(`strata-backfill-${i}`)
      yield* Effect.forkScoped(workerLoop(reads, control, deps, i, RETRY_STEP))
    }
    // Healing passes run in every worker process; the pass lock lets one at a time work.
    yield* healFiber({ sql, store, provider, backfill: config.backfill, unsettled: deps.unsettled, redis: control, log }, config)
    log.info({ workers: n, provider: provider.name, partitions: partitions.length, stream: partitions[0]?.backfill, lake: store.location }, "backfill workers running")
    return counters
  })
