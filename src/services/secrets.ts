/**
 * The one place that knows the configured secret values, and scrubs them out of text
 * before the text reaches a log line, a stream entry, a table or the terminal.
 * Secrets: POLYGON_API_KEY, AWS_SECRET_ACCESS_KEY, AWS_ACCESS_KEY_ID, AWS_SESSION_TOKEN,
 * and the passwords inside REDIS_URL / DATABASE_URL (or redis.url / postgres.url).
 * A provider that echoes its key in an error body is the case this exists for: the
 * error text is copied into logs, `backfill_progress.last_error` and dead letters.
 * Values are matched as written, URL-encoded and JSON-escaped (a log line is JSON).
 * Values shorter than MIN_SECRET_LENGTH are not scrubbed by value: a two-character
 * password would shred every line (and JSON numbers with it) while protecting nothing.
 * Does not redact by object path: the logger's pino `redact` paths do that.
 */

export const REDACTED = "[redacted]"
export const MIN_SECRET_LENGTH = 4

/** Environment variables whose whole value is a secret. */
export const SECRET_ENV = ["POLYGON_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"] as const
/** Environment variables holding a URL whose password is a secret. */
export const SECRET_URL_ENV = ["REDIS_URL", "DATABASE_URL"] as const

// Process-wide: a log line can be written from anywhere, so the set cannot travel as a
// parameter. It only grows; the longest value is replaced first (one may contain another).
const known = new Set<string>()
let ordered: string[] = []

/** The password of a URL ("redis://:pw@host" → "pw"), decoded, or undefined. */
export const urlPassword = (url: string | undefined): string | undefined => {
  if (!url) return undefined
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(url)
  if (!m?.[1]) return undefined
  try {
    return decodeURIComponent(m[1])
  } catch {
    return m[1]
  }
}

const forms = (value: string): string[] => [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]

/** Add secret values (undefined and too-short ones are ignored). */
export const addSecrets = (...values: readonly (string | undefined)[]): void => {
  let grew = false
  for (const v of values) {
    if (!v || v.length < MIN_SECRET_LENGTH) continue
    for (const f of forms(v)) {
      if (f !== "" && !known.has(f)) {
        known.add(f)
        grew = true
      }
    }
  }
  if (grew) ordered = [...known].sort((a, b) => b.length - a.length)
}

/** The secret values an environment configures. */
export const secretsOfEnv = (env: NodeJS.ProcessEnv): string[] => [
  ...SECRET_ENV.map((k) => env[k] ?? ""),
  ...SECRET_URL_ENV.map((k) => urlPassword(env[k]) ?? "")
].filter((v) => v !== "")

/** Learn the secrets of an environment and of the store URLs in use (a config file may name them). */
export const learnSecrets = (env: NodeJS.ProcessEnv, urls: readonly (string | undefined)[] = []): void =>
  addSecrets(...secretsOfEnv(env), ...urls.map(urlPassword))

/** `text` with every known secret value replaced by [redacted]. */
export const redact = (text: string): string => {
  let out = text
  for (const v of ordered) if (out.includes(v)) out = out.split(v).join(REDACTED)
  return out
}

learnSecrets(process.env)
