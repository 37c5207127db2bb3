/**
 * Per-provider request limits shared by every worker process: a bottleneck limiter on the
 * Redis datastore, one limiter id per (key prefix, provider), so N processes together
 * never start more than `requests_per_second` requests in any second nor run more than
 * `max_concurrent` at once. Redis' own clock spaces the requests, not the processes'.
 * A failure of the limiter's own Redis traffic (its connection dropping, a disconnect that
 * fails on close) is reported to `onFailure`, which counts and logs it; the limiter itself
 * reconnects, and a schedule that cannot reach Redis fails the request, which the worker
 * retries. Does not retry or wait on 429s: the worker's schedule does, reading the tagged error.
 */
import Bottleneck from "bottleneck"
import { isClusterUrl } from "../../config/redis-url.ts"
import { openRedis } from "../services/redis-client.ts"

export interface RateLimitSettings {
  /** 0 = no limit. */
  readonly requests_per_second: number
  /** 0 = no limit. */
  readonly max_concurrent: number
  /** Extra spacing as a fraction of 1000/N (default DEFAULT_HEADROOM). */
  readonly headroom?: number
}

export interface Limiter {
  /** Run `fn` once the shared limit allows one more request. */
  readonly schedule: <T>(fn: () => Promise<T>) => Promise<T>
  readonly close: () => Promise<void>
}

export const unlimited: Limiter = { schedule: (fn) => fn(), close: async () => {} }

/**
 * The bottleneck id of a provider's limiter; its keys in Redis are `b_<id>_…`. On a Redis
 * Cluster the id is a hash tag, so bottleneck's scripts get keys of one slot.
 */
export const limiterId = (prefix: string, provider: string, cluster = false): string =>
  cluster ? `{${prefix}:ratelimit:${provider}}` : `${prefix}:ratelimit:${provider}`

/** Default headroom: see minTimeMs. */
export const DEFAULT_HEADROOM = 0.2

/**
 * Spacing between request starts: 1000/N ms plus `headroom`, so that the delay between a
 * start (taken on Redis' clock) and its arrival at the provider (first connection, an
 * event loop busy encoding Parquet) cannot put N+1 arrivals inside one second at the
 * provider: a headroom h tolerates delays up to h × 1 s.
 */
export const minTimeMs = (requestsPerSecond: number, headroom = DEFAULT_HEADROOM): number =>
  requestsPerSecond > 0 ? Math.ceil((1000 / requestsPerSecond) * (1 + headroom)) : 0

/**
 * Told of each failure of the limiter's Redis traffic: `source` is "connection" (the
 * client's error events while Redis is away, expected in bursts), "limiter" (bottleneck's
 * own error events) or "close" (a disconnect that failed).
 */
export type LimiterFailure = (source: "connection" | "limiter" | "close", error: unknown) => void

export const openLimiter = (
  redisUrl: string, prefix: string, provider: string, settings: RateLimitSettings, onFailure: LimiterFailure = () => undefined
): Limiter => {
  if (settings.requests_per_second <= 0 && settings.max_concurrent <= 0) return unlimited
  // On a Cluster bottleneck takes the Cluster client's `duplicate()` for its subscriber.
  const client = openRedis(redisUrl, `strata-ratelimit-${provider}`)
  // An error event without a listener would crash the process; each one is reported instead.
  client.on("error", (e: unknown) => onFailure("connection", e))
  const connection = new Bottleneck.IORedisConnection({ client })
  connection.on("error", (e: unknown) => onFailure("connection", e))
  const limiter = new Bottleneck({
    id: limiterId(prefix, provider, isClusterUrl(redisUrl)),
    datastore: "ioredis",
    connection,
    // Settings written by the first process are kept; an operator changes them in config
    // for every process at once, and a changed config is written again on start.
    clearDatastore: false,
    minTime: minTimeMs(settings.requests_per_second, settings.headroom),
    maxConcurrent: settings.max_concurrent > 0 ? settings.max_concurrent : null
  })
  limiter.on("error", (e: unknown) => onFailure("limiter", e))
  let settingsWritten: Promise<void> | undefined
  const ready = () => (settingsWritten ??= limiter.ready().then(() => limiter.updateSettings({
    minTime: minTimeMs(settings.requests_per_second, settings.headroom),
    maxConcurrent: settings.max_concurrent > 0 ? settings.max_concurrent : null
  })).then(() => undefined))
  return {
    schedule: async (fn) => {
      await ready()
      // A job's slot is freed after `expiration` even if its process died holding it.
      return limiter.schedule({ expiration: 120_000 }, fn)
    },
    close: async () => {
      // The connection was passed in, so the limiter leaves it open: close both its clients.
      await Promise.resolve(connection.disconnect(false)).catch((e: unknown) => onFailure("close", e))
      client.disconnect()
    }
  }
}
