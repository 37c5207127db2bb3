/**
 * The errors a fetch can fail with; the worker's retry / wait / dead-letter decision reads
 * the tag:
 *   Retryable   → retried on a capped, jittered exponential schedule (5xx, network, timeout)
 *   RateLimited → waits Retry-After, then retries; a wait is not an attempt (429)
 *   Terminal    → no retry; the command goes to the dead-letter stream (4xx, bad data)
 */
import { Data } from "effect"

export class Retryable extends Data.TaggedError("Retryable")<{ readonly message: string; readonly status?: number }> {}
export class RateLimited extends Data.TaggedError("RateLimited")<{ readonly message: string; readonly retryAfterMs: number }> {}
export class Terminal extends Data.TaggedError("Terminal")<{ readonly message: string; readonly status?: number }> {}

export type FetchError = Retryable | RateLimited | Terminal

export const isFetchError = (e: unknown): e is FetchError =>
  e instanceof Retryable || e instanceof RateLimited || e instanceof Terminal

/** Anything thrown that is not already tagged counts as retryable (a bug surfaces through the dead letter). */
export const asFetchError = (e: unknown): FetchError =>
  isFetchError(e) ? e : new Retryable({ message: e instanceof Error ? e.message : String(e) })

/** Retry-After: delta seconds or an HTTP date; absent or unreadable → `fallbackMs`. */
export const parseRetryAfter = (value: string | null, nowMs: number, fallbackMs = 1000): number => {
  if (value === null || value.trim() === "") return fallbackMs
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000)
  const at = Date.parse(text)
  return Number.isNaN(at) ? fallbackMs : Math.max(0, at - nowMs)
}
