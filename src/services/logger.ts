/**
 * The structured logger (pino). Secrets are redacted by path, and URLs with passwords are
 * masked before they are logged. Level from LOG_LEVEL (default info).
 */
import { pino, type Logger } from "pino"

export type { Logger }

export const createLogger = (name = "strata", level = process.env["LOG_LEVEL"] ?? "info"): Logger =>
  pino({
    name,
    level,
    redact: { paths: ["password", "*.password", "apiKey", "*.apiKey", "api_key", "*.api_key", "secretAccessKey", "*.secretAccessKey"], censor: "[redacted]" }
  })

/** "redis://user:secret@host" → "redis://user:***@host". */
export const maskUrl = (url: string): string => url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@")
