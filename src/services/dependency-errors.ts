/**
 * What went wrong with a store, in one line an operator can act on: which store (Redis,
 * PostgreSQL, S3), whether it does not answer or refused the credentials, and which
 * setting to fix. URLs are masked; no secret is ever part of a message.
 * Does not decide what to do about it: the engine's loops retry, one-shot commands exit.
 */
import { Data } from "effect"
import { isClusterUrl } from "../../config/redis-url.ts"
import { maskUrl } from "./logger.ts"

export type Store = "Redis" | "PostgreSQL" | "S3"

export class DependencyError extends Data.TaggedError("DependencyError")<{
  readonly store: Store
  /** "auth": it answered and refused the credentials; "unreachable": it did not answer. */
  readonly kind: "auth" | "unreachable"
  readonly message: string
}> {}

const dependencyError = (store: Store, kind: "auth" | "unreachable", message: string): DependencyError =>
  new DependencyError({ store, kind, message })

/** Socket-level failures: the other side is not there (or not reachable). */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED"])

const errorCode = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code
  if (typeof code === "string") return code
  const cause = (e as { cause?: unknown } | null)?.cause
  return cause !== undefined && cause !== e ? errorCode(cause) : undefined
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The reply word of a Redis refusal: NOAUTH (no password given) or WRONGPASS. */
const redisAuthWord = (e: unknown): "NOAUTH" | "WRONGPASS" | undefined => {
  const m = messageOf(e)
  return m.startsWith("NOAUTH") ? "NOAUTH" : m.startsWith("WRONGPASS") || m.includes("invalid password") ? "WRONGPASS" : undefined
}

export const isNetworkError = (e: unknown): boolean => {
  const code = errorCode(e)
  return code !== undefined && NETWORK_CODES.has(code)
}

/** A failure to reach or log into Redis at `url`, as a DependencyError. */
export const redisFailure = (url: string, e: unknown): DependencyError => {
  const word = redisAuthWord(e)
  if (word === "NOAUTH") {
    return dependencyError("Redis", "auth",
      `Redis at ${maskUrl(url)} requires a password (NOAUTH): give it in REDIS_URL or redis.url (${isClusterUrl(url) ? "redis+cluster://:PASSWORD@host:port,host:port" : "redis://:PASSWORD@host:port"})`)
  }
  if (word === "WRONGPASS") {
    return dependencyError("Redis", "auth",
      `Redis at ${maskUrl(url)} refused the credentials (WRONGPASS): fix the user or password in REDIS_URL or redis.url`)
  }
  return dependencyError("Redis", "unreachable",
    `Redis at ${maskUrl(url)} does not answer (${errorCode(e) ?? messageOf(e)}): set REDIS_URL or redis.url`)
}

/** A failure to reach or log into PostgreSQL at `url`, as a DependencyError. */
export const postgresFailure = (url: string, e: unknown): DependencyError => {
  const code = errorCode(e)
  if (code === "28P01") {
    return dependencyError("PostgreSQL", "auth",
      `PostgreSQL at ${maskUrl(url)} refused the credentials (28P01 ${messageOf(e)}): fix the user or password in DATABASE_URL or postgres.url`)
  }
  if (code === "28000") {
    return dependencyError("PostgreSQL", "auth",
      `PostgreSQL at ${maskUrl(url)} does not let this user in (28000 ${messageOf(e)}): fix the user or database in DATABASE_URL or postgres.url, or the server's pg_hba.conf`)
  }
  return dependencyError("PostgreSQL", "unreachable",
    `PostgreSQL at ${maskUrl(url)} does not answer (${code ?? messageOf(e)}): set DATABASE_URL or postgres.url`)
}

/** An S3 request that never reached the endpoint, as a DependencyError. */
export const s3Failure = (endpoint: string, bucket: string, e: unknown): DependencyError =>
  dependencyError("S3", "unreachable",
    `S3 endpoint ${endpoint ? maskUrl(endpoint) : "(AWS default)"} for bucket "${bucket}" does not answer (${errorCode(e) ?? messageOf(e)}): set storage.s3.endpoint, or storage.s3.bucket "" for the local lake`)

/** AWS SDK errors carry `$metadata`; a network one never got an HTTP status. */
export const isS3NetworkError = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "$metadata" in e && isNetworkError(e)
