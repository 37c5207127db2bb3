/**
 * The atomic step (DESIGN §5): one Lua script per batch writes the changed snapshots,
 * appends lifecycle events, backfill commands and dead letters, bumps counters and XACKs
 * the input, all or nothing. The script refuses a batch any of whose entries is no longer
 * pending, so a batch is never applied twice.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { IngressKeys, PartitionKeys } from "./keys.ts"

const APPLY_BATCH = readFileSync(new URL("./lua/apply-batch-6.lua", import.meta.url), "utf8")

export interface StepPayload {
  readonly ids: readonly string[]
  /** HSET arguments: symbol, snapshot JSON, ... */
  readonly snaps: readonly string[]
  readonly lifecycle: readonly (readonly string[])[]
  readonly backfill: readonly (readonly string[])[]
  readonly dead: readonly (readonly string[])[]
  /** HINCRBY arguments: field, increment, ... */
  readonly stats: readonly (string | number)[]
}

type WithApply = Redis & {
  strataApplyBatch(k1: string, k2: string, k3: string, k4: string, k5: string, k6: string, group: string, payload: string, ...snaps: string[]): Promise<number>
}

export const defineAtomicStep = (redis: Redis): void => {
  if (!("strataApplyBatch" in redis)) redis.defineCommand("strataApplyBatch", { numberOfKeys: 6, lua: APPLY_BATCH })
}

/**
 * Apply one batch. Returns the number of entries applied: all of them, or 0 when the
 * batch had already been applied. Rejects (STRATA_PARTIAL) when only some were.
 */
export const applyBatch = (
  redis: Redis, ingress: IngressKeys, keys: PartitionKeys, group: string, payload: StepPayload
): Promise<number> => {
  defineAtomicStep(redis)
  // cjson turns an empty table into {} rather than []; the script only iterates, so either works.
  // Snapshots travel as plain arguments after the JSON: they are JSON already, and nesting
  // them would escape every quote on the way in and decode them again in the script.
  const { snaps, ...rest } = payload
  return (redis as WithApply).strataApplyBatch(
    ingress.scores, ingress.scoresDead, keys.snapshots, keys.lifecycle, keys.backfill, keys.stats,
    group, JSON.stringify(rest), ...snaps
  )
}
