/** `strata workers` (`npm run workers`): the backfill worker fibers alone, until SIGINT/SIGTERM. */
import { Effect } from "effect"
import { startWorkers } from "../backfill/runtime.ts"
import { infrastructure } from "../services/infrastructure.ts"
import { MissingBinaryError } from "../services/private-servers.ts"
import { cliLogger, configOrExit } from "./shared.ts"
import { runMain } from "./run-main.ts"

export const workersCommand = (opts: { config?: string; workers?: string }): void => {
  const loaded = configOrExit(opts.config)
  const workers = opts.workers === undefined ? loaded.backfill.workers : Number(opts.workers)
  if (!Number.isInteger(workers) || workers < 1) {
    process.stderr.write(`strata workers: --workers must be a positive integer, got "${opts.workers}"\n`)
    process.exit(2)
  }
  const config = { ...loaded, backfill: { ...loaded.backfill, workers } }
  const log = cliLogger("strata-workers")
  const program = Effect.scoped(Effect.gen(function* () {
    const infra = yield* infrastructure(config, log)
    yield* startWorkers(config, log, infra)
    return yield* Effect.never
  })).pipe(
    Effect.tapError((e) => Effect.sync(() => {
      const err = e as unknown
      if (err instanceof MissingBinaryError) process.stderr.write(`strata: ${err.message}\n`)
      else log.error({ err }, "workers failed")
    }))
  )
  runMain(program, log)
}
