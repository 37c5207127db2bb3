/**
 * What every subcommand shares: config loading with a clear error, the logger, and how a
 * one-shot command reports a failure: one line on stderr and an exit code, the stack
 * only when asked for (--verbose or LOG_LEVEL=debug).
 */
import { ConfigError, loadConfig } from "../../config/load.ts"
import type { Config } from "../../config/schema.ts"
import { DependencyError, isNetworkError } from "../services/dependency-errors.ts"
import { createLogger, type Logger } from "../services/logger.ts"

/** Exit codes: 1 the command's own verdict (divergence, …) or an unexpected failure, 2 usage or configuration, 3 a store. */
export const EXIT_STORE = 3

export const configOrExit = (file: string | undefined): Config => {
  try {
    return loadConfig({ file })
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`)
      process.exit(2)
    }
    throw e
  }
}

export const cliLogger = (name: string): Logger => createLogger(name)

const verbose = (): boolean => process.argv.includes("--verbose") || process.env["LOG_LEVEL"] === "debug"

/** The one line for a failure, and its exit code. */
export const describeFailure = (e: unknown): { line: string; exitCode: number } => {
  if (e instanceof DependencyError) return { line: e.message, exitCode: EXIT_STORE }
  const message = e instanceof Error ? e.message : String(e)
  if (isNetworkError(e)) return { line: `a store stopped answering (${message})`, exitCode: EXIT_STORE }
  return { line: message, exitCode: 1 }
}

/**
 * A one-shot command as commander runs it: a failure is printed as one line naming the
 * command (with the stack below it only when asked for) and sets a non-zero exit code,
 * instead of escaping as an uncaught error with a stack trace.
 */
export const oneShot = <A extends unknown[]>(name: string, run: (...args: A) => Promise<void>) =>
  async (...args: A): Promise<void> => {
    try {
      await run(...args)
    } catch (e) {
      const { line, exitCode } = describeFailure(e)
      process.stderr.write(`strata ${name}: ${line}\n`)
      if (verbose() && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`)
      process.exitCode = exitCode
      // A client still retrying in the background must not keep a failed command alive.
      setTimeout(() => process.exit(), 200).unref()
    }
  }
