/**
 * The structured logger (pino). Secrets are redacted twice: by path (pino `redact`, for
 * fields named like a secret), and by value: every finished line passes through
 * secrets.ts, which replaces every configured secret value wherever it appears (an error
 * message quoting a provider's body, say). URLs with passwords are masked before they
 * are logged. Level from LOG_LEVEL (default info).
 */
import { pino, type DestinationStream, type Logger } from "pino"
import { redact } from "./secrets.ts"

export type { Logger }

export const createLogger = (name = "strata", level = process.env["LOG_LEVEL"] ?? "info", destination?: DestinationStream): Logger => {
  const options = {
    name,
    level,
    redact: { paths: ["password", "*.password", "apiKey", "*.apiKey", "api_key", "*.api_key", "secretAccessKey", "*.secretAccessKey"], censor: "[redacted]" },
    hooks: { streamWrite: redact }
  }
  return destination ? pino(options, destination) : pino(options)
}

/** "redis://user:secret@host" → "redis://user:***@host". */
export const maskUrl = (url: string): string => url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@")
