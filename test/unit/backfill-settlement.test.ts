/**
 * What the worker does with a command whose work failed, read from the failure's tag
 * alone: a terminal provider error or an entry that left the stream ends the command in
 * the dead-letter stream; a passing failure (Retryable, RateLimited past its waits, a store
 * that failed) leaves the entry pending for a reclaim; an entry another consumer took is
 * left alone. Store failures are retried on the task's schedule like Retryable ones, and a
 * write that spans both tiers is tagged by the tier that failed. No I/O.
 */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { RateLimited, Retryable, Terminal } from "../../src/backfill/errors.ts"
import { retryRetryable, type TaskError } from "../../src/backfill/execute.ts"
import { EntryLost, REMOVED_REASON, settlement } from "../../src/backfill/worker.ts"
import { ObjectStoreError, PostgresError, RedisError, tierError } from "../../src/services/errors.ts"

const store = { operation: "test", message: "connection refused", cause: undefined }

describe("the worker's settlement of a failed command", () => {
  it("dead-letters a terminal provider error, keeping its text", () => {
    expect(settlement(new Terminal({ message: "GET /v2/aggs: 401", status: 401 }))).toEqual({
      kind: "dead-letter", reason: "terminal error", error: "Terminal: GET /v2/aggs: 401"
    })
  })

  it("dead-letters an entry that left the stream while it was carried out", () => {
    expect(settlement(new EntryLost({ status: "gone", message: "entry 1-0 was removed" }))).toEqual({
      kind: "dead-letter", reason: REMOVED_REASON, error: "entry 1-0 was removed"
    })
  })

  it("leaves an entry another consumer took, or that was acknowledged elsewhere, alone", () => {
    expect(settlement(new EntryLost({ status: "taken", message: "reclaimed by w2" }))).toEqual({ kind: "taken-over" })
    expect(settlement(new EntryLost({ status: "released", message: "no longer pending" }))).toEqual({ kind: "taken-over" })
  })

  it("leaves passing failures pending for a reclaim: provider and stores alike", () => {
    const passing = [
      new Retryable({ message: "503", status: 503 }),
      new RateLimited({ message: "429", retryAfterMs: 1000 }),
      new RedisError(store),
      new PostgresError(store),
      new ObjectStoreError(store)
    ]
    for (const e of passing) expect(settlement(e)).toEqual({ kind: "leave-pending", error: `${e._tag}: ${e.message}` })
  })
})

describe("store failures during a task", () => {
  const config = loadConfig({ env: {}, overrides: { backfill: { retry: { base_ms: 1, max_delay_ms: 2, max_attempts: 2 } } } }).backfill

  const run = async (script: TaskError[]) => {
    let calls = 0
    const effect = Effect.suspend(() => {
      const e = script[calls++]
      return e ? Effect.fail(e) : Effect.succeed("ok")
    })
    const exit = await Effect.runPromise(Effect.exit(effect.pipe(retryRetryable(config))))
    return { exit, calls }
  }

  it("are retried on the task's schedule (rows and coverage writes are idempotent)", async () => {
    const { exit, calls } = await run([new PostgresError(store), new ObjectStoreError(store)])
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(calls).toBe(3)
  })

  it("are given up after max_attempts retries, as Retryable ones are", async () => {
    const { exit, calls } = await run([new RedisError(store), new RedisError(store), new RedisError(store), new RedisError(store)])
    expect(Exit.isFailure(exit)).toBe(true)
    expect(calls).toBe(3)
  })

  it("are tagged by the tier that failed when a write spans both", () => {
    expect(tierError("write rows", Object.assign(new Error("socket hang up"), { $metadata: {} }))._tag).toBe("ObjectStoreError")
    expect(tierError("write rows", Object.assign(new Error("EACCES"), { syscall: "open", code: "EACCES" }))._tag).toBe("ObjectStoreError")
    expect(tierError("write rows", Object.assign(new Error("duplicate key"), { code: "23505" }))._tag).toBe("PostgresError")
  })
})
