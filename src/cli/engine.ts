/** `strata engine`: the long-running service (ingest + projector) until SIGINT/SIGTERM. */
import { Effect } from "effect"
import { startEngine } from "../engine/runtime.ts"
import { MissingBinaryError } from "../services/private-servers.ts"
import { cliLogger, configOrExit } from "./shared.ts"
import { runMain } from "./run-main.ts"

export const engineCommand = (opts: { config?: string }): void => {
  const config = configOrExit(opts.config)
  const log = cliLogger("strata-engine")
  const program = Effect.scoped(Effect.gen(function* () {
    yield* startEngine(config, log)
    return yield* Effect.never
  })).pipe(
    Effect.tapError((e) => Effect.sync(() => {
      const err = e as unknown
      if (err instanceof MissingBinaryError) process.stderr.write(`strata: ${err.message}\n`)
      else log.error({ err }, "engine failed")
    }))
  )
  runMain(program, log)
}
