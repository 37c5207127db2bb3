/**
 * The structured logger (pino). Secrets are redacted twice: by path (pino `redact`, for
 * fields named like a secret), and by value: every finished line passes through
 * secrets.ts, which replaces every configured secret value wherever it appears (an error
 * message quoting a provider's body, say). URLs with passwords are masked before they
 * are logged. Level from LOG_LEVEL (default info). Logs go to stderr, so a command's
 * stdout holds only its output (`strata status --json | jq`): readable lines
 * (pino-pretty) when stderr is a terminal, JSON lines otherwise; LOG_FORMAT=json or
 * LOG_FORMAT=pretty overrides the choice.
 */
import { createRequire } from "node:module"
import { Context, Layer } from "effect"
import { pino, type DestinationStream, type Logger } from "pino"
import { redact } from "./secrets.ts"

export type { Logger }

/** Where the lines go; pino-pretty is loaded only when a person reads them. */
const defaultDestination = (): DestinationStream => {
  const format = process.env["LOG_FORMAT"] ?? (process.stderr.isTTY ? "pretty" : "json")
  if (format === "pretty") {
    const pretty = createRequire(import.meta.url)("pino-pretty") as (o: object) => DestinationStream
    return pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" })
  }
  return pino.destination({ dest: 2, sync: true })
}

export const createLogger = (name = "strata", level = process.env["LOG_LEVEL"] ?? "info", destination?: DestinationStream): Logger =>
  pino({
    name,
    level,
    redact: { paths: ["password", "*.password", "apiKey", "*.apiKey", "api_key", "*.api_key", "secretAccessKey", "*.secretAccessKey"], censor: "[redacted]" },
    hooks: { streamWrite: redact }
  }, destination ?? defaultDestination())

/** "redis://user:secret@host" → "redis://user:***@host". */
export const maskUrl = (url: string): string => url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@")

/** The logger as a service: one per process, named after it, built at the entry. */
export class LoggerService extends Context.Service<LoggerService, Logger>()("strata/Logger") {
  static readonly layer = (log: Logger): Layer.Layer<LoggerService> => Layer.succeed(LoggerService, log)
}
