/**
 * The atomic step as it was before the applied-through marks: the same guard and writes,
 * but a batch is checked against the group's pending list (XPENDING) instead of a mark,
 * and output rows travel as plain field lists. Kept only as the baseline the bench
 * measures the step against in the same run (bench/scenarios/atomic-step.ts); the engine
 * never runs it, and it moves no mark, so an install must not mix the two.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { StepPayload } from "./atomic-step.ts"
import type { IngressKeys, PartitionKeys } from "./keys.ts"

const APPLY_BATCH_PENDING = readFileSync(new URL("./lua/apply-batch-pending-10.lua", import.meta.url), "utf8")

/** The script's keys and arguments for one batch, as sent. */
export const pendingStepArguments = (
  ingress: IngressKeys, keys: PartitionKeys, group: string, payload: StepPayload
): { readonly keys: readonly string[]; readonly args: readonly string[] } => {
  const { snaps, streamTime, directIds, ...rest } = payload
  const direct = directIds === undefined || directIds.length === 0 ? rest : { ...rest, direct: directIds }
  return {
    keys: [ingress.scores, ingress.scoresDead, keys.snapshots, keys.lifecycle, keys.backfill, keys.stats,
      keys.lease, keys.step, keys.streamTime, keys.scoresDirect],
    args: [group, JSON.stringify(streamTime === null ? direct : { ...direct, stream_time: String(streamTime) }), ...snaps]
  }
}

type WithApply = Redis & { strataApplyBatchPending(...keysAndArgs: string[]): Promise<number> }

/** Apply one batch the old way: all of it, 0 when none is pending any more, STRATA_PARTIAL when some are not. */
export const applyBatchPending = (
  redis: Redis, ingress: IngressKeys, keys: PartitionKeys, group: string, payload: StepPayload
): Promise<number> => {
  if (!("strataApplyBatchPending" in redis)) redis.defineCommand("strataApplyBatchPending", { numberOfKeys: 10, lua: APPLY_BATCH_PENDING })
  const step = pendingStepArguments(ingress, keys, group, payload)
  return (redis as WithApply).strataApplyBatchPending(...step.keys, ...step.args)
}
