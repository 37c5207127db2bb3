/**
 * `strata workers` (`npm run workers`): the backfill worker fibers alone, until SIGINT/SIGTERM,
 * or until the install record no longer allows its partition count (a move by `strata
 * partitions migrate`, which cannot see this process: it is not a member), checked every
 * lease.ttl_ms.
 */
import { Effect } from "effect"
import { watchInstall } from "../app/install-guard.ts"
import { workers as workerFibers } from "../app/worker-process.ts"
import { RedisService } from "../services/redis.ts"
import { acquire } from "../services/process.ts"
import { withProcess } from "../services/process.ts"
import { cliLogger, configOrExit } from "./shared.ts"
import { runService } from "./run-main.ts"

export const workersCommand = (opts: { config?: string; workers?: string }): void => {
  const loaded = configOrExit(opts.config)
  const workers = opts.workers === undefined ? loaded.backfill.workers : Number(opts.workers)
  if (!Number.isInteger(workers) || workers < 1) {
    process.stderr.write(`strata workers: --workers must be a positive integer, got "${opts.workers}"\n`)
    process.exit(2)
  }
  const config = { ...loaded, backfill: { ...loaded.backfill, workers } }
  const log = cliLogger("strata-workers")
  const run = Effect.gen(function* () {
    yield* workerFibers()
    const redis = yield* acquire(RedisService.layer("strata-workers-install"), RedisService)
    return yield* watchInstall(redis.client, config, log, config.lease.ttl_ms)
  })
  runService("workers", run.pipe(withProcess(config, log)), log)
}
