/** `strata engine`: the long-running service (ingest, projector, workers, tiering, HTTP) until SIGINT/SIGTERM. */
import { startEngine, startPartitionedEngine } from "../app/engine-process.ts"
import { cliLogger, configOrExit } from "./shared.ts"
import { runService } from "./run-main.ts"

export const engineCommand = (opts: { config?: string }): void => {
  const config = configOrExit(opts.config)
  const log = cliLogger("strata-engine")
  runService("engine", config.partitions > 1 ? startPartitionedEngine(config, log) : startEngine(config, log), log)
}
