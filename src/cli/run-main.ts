/**
 * Running an Effect program as the process: SIGINT, SIGTERM or SIGHUP (or the end of the npm
 * process that launched it, see launcher-watch.ts) interrupts it, which closes its scope
 * (loops stop, connections close, private servers stop) before the process exits.
 * A second signal exits at once (a repeat of the first within a second, as npm passes on a
 * terminal's Ctrl-C the engine already heard, is the same stop).
 */
import { Effect, Exit, type Scope } from "effect"
import type { Logger } from "../services/logger.ts"
import { ConfigError } from "../../config/load.ts"
import { DependencyError } from "../services/dependency-errors.ts"
import { MissingBinaryError } from "../services/private-servers.ts"
import { LeaseHeldError } from "../engine/lease-keeper.ts"
import { watchLauncher } from "./launcher-watch.ts"

/** Signals that stop a service cleanly (Node's default for each would exit without cleanup). */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const
/** A repeat of the first stop signal within this long is the same stop, not a second one. */
const REPEAT_MS = 1_000

export const runMain = <A, E>(program: Effect.Effect<A, E>, log: Logger): void => {
  const fiber = Effect.runFork(program)
  let signalled = false
  let first: { signal: string; at: number } | undefined
  const onSignal = (signal: string) => {
    if (signalled) {
      // A terminal's Ctrl-C reaches the engine twice under npm (the process group, then npm
      // passing it on): the same signal within a second is the same request to stop. Any
      // later signal is an operator insisting, and exits at once.
      if (first && first.signal === signal && performance.now() - first.at < REPEAT_MS) return
      process.exit(130)
    }
    signalled = true
    first = { signal, at: performance.now() }
    log.info({ signal }, "shutting down")
    fiber.interruptUnsafe()
  }
  for (const signal of STOP_SIGNALS) process.on(signal, () => onSignal(signal))
  watchLauncher(() => onSignal("launcher exited"))
  fiber.addObserver((exit) => {
    if (Exit.isSuccess(exit) || (signalled && Exit.hasInterrupts(exit))) {
      log.info("stopped")
      process.exitCode = process.exitCode ?? 0
    } else {
      log.error({ cause: String(exit.cause) }, "stopped on error")
      process.exitCode = process.exitCode || 1
    }
    // Let pino flush, then leave even if a library keeps a handle open.
    setTimeout(() => process.exit(), 50).unref()
  })
}

/**
 * Run a service until a signal: `start` builds it inside a scope, then the process waits.
 * A missing server binary is reported as the command that installs it, a refusal to start
 * beside a live engine (LeaseHeldError) as its message, and a store that does not answer
 * or refuses the credentials as one line naming the setting, all on stderr.
 */
export const runService = <E>(name: string, start: Effect.Effect<unknown, E, Scope.Scope>, log: Logger): void => {
  const program = Effect.scoped(Effect.andThen(start, Effect.never)).pipe(
    Effect.tapError((e) => Effect.sync(() => {
      const err = e as unknown
      if (err instanceof MissingBinaryError || err instanceof LeaseHeldError) process.stderr.write(`strata: ${err.message}\n`)
      else if (err instanceof ConfigError) {
        // A configuration the install does not allow (e.g. another partition count than it has): the fix is in the message.
        process.stderr.write(`strata ${name}: ${err.message}\n`)
        process.exitCode = 2
      } else if (err instanceof DependencyError) {
        process.stderr.write(`strata ${name}: ${err.message}\n`)
        process.exitCode = 3
      } else log.error({ err }, `${name} failed`)
    }))
  )
  runMain(program, log)
}
