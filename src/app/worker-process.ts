/**
 * The backfill workers as a service inside a scope: migrates the storage and progress
 * tables, opens the object store, the provider and its shared rate limiter, and forks
 * `backfill.workers` worker fibers (each with its own Redis connection for blocking
 * reads). Closing the scope stops the fibers, then releases the clients.
 * Used by `npm run engine` (when `backfill.enabled`) and alone by `npm run workers`.
 * Does not resolve or start Redis/PostgreSQL: the caller passes their URLs. The application
 * layer: backfill/ holds the worker logic, this module only wires it into a process.
 */
import { Effect } from "effect"
import type { Config } from "../../config/schema.ts"
import type { Logger } from "../services/logger.ts"
import { migrate, scopedPostgres } from "../services/postgres.ts"
import { scopedRedis } from "../services/redis.ts"
import { learnSecrets } from "../services/secrets.ts"
import { RETRY_STEP } from "../services/retry.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { openObjectStore } from "../storage/object-store.ts"
import { ensureGroup, forgetIdleConsumers } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { PROGRESS_DDL } from "../backfill/progress.ts"
import { openProvider } from "../backfill/providers/index.ts"
import { newCounters, workerLoop, type WorkerCounters, type WorkerDeps } from "../backfill/worker.ts"
import { HEAL_DDL } from "../heal/ledger.ts"
import { healFiber } from "../heal/schedule.ts"


export interface WorkerUrls {
  readonly redisUrl: string
  readonly databaseUrl: string
}

export const BACKFILL_DDL: readonly string[] = [...STORAGE_DDL, ...PROGRESS_DDL, ...HEAL_DDL]

export const startWorkers = (config: Config, log: Logger, urls: WorkerUrls, env: NodeJS.ProcessEnv = process.env) =>
  Effect.gen(function* () {
    const counters = newCounters()
    const n = config.backfill.workers
    if (n === 0) return counters
    learnSecrets(env, [urls.redisUrl, urls.databaseUrl, config.redis.url, config.postgres.url])
    const sql = yield* scopedPostgres(urls.databaseUrl, config.postgres.schema, Math.min(10, n + 2))
    yield* Effect.tryPromise(() => migrate(sql, config.postgres.schema, BACKFILL_DDL))
    const store = yield* Effect.acquireRelease(Effect.sync(() => openObjectStore(config.storage)), (s) => Effect.promise(() => s.close()))
    const { provider } = yield* Effect.acquireRelease(
      Effect.sync(() => openProvider(config, urls.redisUrl, env)),
      (p) => Effect.promise(() => p.limiter.close())
    )
    const control = yield* scopedRedis(urls.redisUrl, "strata-backfill-control", log)
    const keys = partitionKeys(config.redis.prefix, 0)
    const deps: WorkerDeps = {
      sql, store, redis: control, snapshotsKey: keys.snapshots, provider, policy: config.retention,
      backfill: config.backfill, keys, log, counters,
      unsettled: (what, err) => {
        counters.progressWriteFailures++
        log.warn({ what, err: String(err), failures: counters.progressWriteFailures }, "backfill progress write failed; the work goes on")
      }
    }
    yield* Effect.tryPromise(async () => {
      await ensureGroup(control, keys.backfill, GROUPS.workers)
      await forgetIdleConsumers(control, keys.backfill, GROUPS.workers, Math.max(3_600_000, 10 * config.backfill.claim_idle_ms))
    })
    for (let i = 0; i < n; i++) {
      const reads = yield* scopedRedis(urls.redisUrl, `strata-backfill-${i}`, log)
      yield* Effect.forkScoped(workerLoop(reads, control, deps, i, RETRY_STEP))
    }
    // Healing passes run in every worker process; the pass lock lets one at a time work.
    yield* healFiber({ sql, store, provider, backfill: config.backfill, unsettled: deps.unsettled, redis: control, log }, config)
    log.info({ workers: n, provider: provider.name, stream: keys.backfill, lake: store.location }, "backfill workers running")
    return counters
  })
