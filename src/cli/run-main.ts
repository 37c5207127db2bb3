/**
 * Running an Effect program as the process: SIGINT/SIGTERM interrupt it, which closes its
 * scope (loops stop, connections close, private servers stop) before the process exits.
 * A second signal exits at once.
 */
import { Effect, Exit, Fiber } from "effect"
import type { Logger } from "../services/logger.ts"

export const runMain = <A, E>(program: Effect.Effect<A, E>, log: Logger): void => {
  const fiber = Effect.runFork(program)
  let signalled = false
  const onSignal = (signal: string) => {
    if (signalled) process.exit(130)
    signalled = true
    log.info({ signal }, "shutting down")
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", () => onSignal("SIGINT"))
  process.on("SIGTERM", () => onSignal("SIGTERM"))
  fiber.addObserver((exit) => {
    if (Exit.isSuccess(exit) || (signalled && Exit.hasInterrupts(exit))) {
      log.info("stopped")
      process.exitCode = process.exitCode ?? 0
    } else {
      log.error({ cause: String(exit.cause) }, "stopped on error")
      process.exitCode = 1
    }
    // Let pino flush, then leave even if a library keeps a handle open.
    setTimeout(() => process.exit(), 50).unref()
  })
}
