/** Run the engine inside the test process, and wait for conditions without fixed sleeps. */
import { Effect, Exit, Scope } from "effect"
import type { Config } from "../../config/schema.ts"
import { fieldRecord } from "../../streams/entry.ts"
import { startEngine, type EngineHandles } from "../../src/app/engine-process.ts"
import { createLogger } from "../../src/services/logger.ts"

export interface RunningEngine {
  readonly handles: EngineHandles
  readonly stop: () => Promise<void>
}

export const runEngine = async (config: Config): Promise<RunningEngine> => {
  const scope = Effect.runSync(Scope.make())
  const log = createLogger("test-engine", process.env["LOG_LEVEL"] ?? "silent")
  // An engine that fails to start closes what it had opened (its lease first of all), as
  // the CLI's scope does; left open, the lease would hold the install until its TTL.
  const handles = await Effect.runPromise(Scope.provide(scope)(startEngine(config, log))).catch(async (e: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw e
  })
  return { handles, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** Poll `check` until it returns true; fail with `what` after `timeoutMs`. */
export const waitUntil = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Entries of a stream as field maps (IDs dropped), in order. */
export const streamFields = async (
  redis: import("ioredis").Redis, key: string
): Promise<Record<string, string>[]> => {
  const entries = await redis.xrange(key, "-", "+")
  return entries.map(([, f]) => fieldRecord(f))
}
