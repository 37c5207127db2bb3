/** What every subcommand shares: config loading with a clear error, and the logger. */
import { ConfigError, loadConfig } from "../../config/load.ts"
import type { Config } from "../../config/schema.ts"
import { createLogger, type Logger } from "../services/logger.ts"

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
