/**
 * The worker's retry decision, read from the error's tag: RateLimited waits and is not an
 * attempt, Retryable is retried up to `max_attempts`, Terminal is never retried. Plus the
 * Retry-After parser. No I/O; delays are a millisecond, nothing asserts elapsed time.
 */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { parseRetryAfter, RateLimited, Retryable, Terminal, type FetchError } from "../../src/backfill/errors.ts"
import { retryRetryable, waitOnRateLimits } from "../../src/backfill/execute.ts"

const config = loadConfig({
  env: {}, overrides: { backfill: { retry: { base_ms: 1, max_delay_ms: 2, max_attempts: 2, max_rate_limited_waits: 4 } } }
}).backfill

/** An effect failing with `script`'s errors in turn, then succeeding; counts calls. */
const scripted = (script: FetchError[]) => {
  let calls = 0
  const effect = Effect.suspend(() => {
    const e = script[calls++]
    return e ? Effect.fail(e) : Effect.succeed("ok")
  })
  return { effect, calls: () => calls }
}

const runAsync = async (script: FetchError[]) => {
  const s = scripted(script)
  const exit = await Effect.runPromise(Effect.exit(s.effect.pipe(waitOnRateLimits(config), retryRetryable(config))))
  return { exit, calls: s.calls() }
}

const limited = () => new RateLimited({ message: "429", retryAfterMs: 1 })
const retryable = () => new Retryable({ message: "503", status: 503 })

describe("backfill retry decisions", () => {
  it("waits on 429s without spending attempts", async () => {
    const { exit, calls } = await runAsync([limited(), limited(), limited(), retryable(), limited(), limited(), retryable()])
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(calls).toBe(8)
  })

  it("gives up a retryable error after max_attempts retries", async () => {
    const { exit, calls } = await runAsync([retryable(), retryable(), retryable(), retryable()])
    expect(Exit.isFailure(exit)).toBe(true)
    expect(calls).toBe(3)
  })

  it("never retries a terminal error", async () => {
    const { exit, calls } = await runAsync([new Terminal({ message: "401", status: 401 })])
    expect(Exit.isFailure(exit)).toBe(true)
    expect(calls).toBe(1)
  })

  it("stops waiting after max_rate_limited_waits", async () => {
    const { exit, calls } = await runAsync(Array.from({ length: 20 }, limited))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(calls).toBe(5)
  })

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.UTC(2026, 0, 7, 12)
    expect(parseRetryAfter("2", now)).toBe(2000)
    expect(parseRetryAfter("0.5", now)).toBe(500)
    expect(parseRetryAfter(new Date(now + 3000).toUTCString(), now)).toBe(3000)
    expect(parseRetryAfter(null, now)).toBe(1000)
    expect(parseRetryAfter("soon", now, 700)).toBe(700)
  })
})
