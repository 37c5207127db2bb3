/** `strata workers` (`npm run workers`): the backfill worker fibers alone, until SIGINT/SIGTERM. */
import { workers as workerFibers } from "../app/worker-process.ts"
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
  runService("workers", workerFibers().pipe(withProcess(config, log)), log)
}
