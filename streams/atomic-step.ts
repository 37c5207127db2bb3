/**
 * The atomic step (DESIGN §5): one Lua script per batch writes the changed snapshots,
 * appends lifecycle events, backfill commands and dead letters, bumps counters, records
 * the partition's stream time and XACKs the input, all or nothing. The input is the
 * partition's scores stream and, in a partitioned install, its direct stream too: each
 * entry is checked and acknowledged on the stream it came from. The script refuses a batch any of whose entries is no longer
 * pending, so a batch is never applied twice.
 * Its guard fences the step: it writes nothing unless the caller holds the partition's
 * lease (owner id and epoch, see lease.ts) and Redis' step marker is the value the caller
 * expects; each refusal is a distinct error the caller recognises with `stepRefusal`.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { IngressKeys, PartitionKeys } from "./keys.ts"

const APPLY_BATCH = readFileSync(new URL("./lua/apply-batch-10.lua", import.meta.url), "utf8")

export interface StepPayload {
  /** IDs of the batch's entries of the scores stream (`ingress.scores`), ascending. */
  readonly ids: readonly string[]
  /** IDs of the batch's entries of the partition's direct stream (`keys.scoresDirect`), ascending. */
  readonly directIds?: readonly string[]
  /** HSET arguments: symbol, snapshot JSON, ... */
  readonly snaps: readonly string[]
  readonly lifecycle: readonly (readonly string[])[]
  readonly backfill: readonly (readonly string[])[]
  readonly dead: readonly (readonly string[])[]
  /** HINCRBY arguments: field, increment, ... */
  readonly stats: readonly (string | number)[]
  /** The partition's stream time after the batch (ms); null before its first applied entry. */
  readonly streamTime: number | null
  readonly fence: StepFence
}

/** What the guard checks: the lease the caller believes it holds and the marker it expects. */
export interface StepFence {
  readonly owner: string
  readonly epoch: string
  /** The step marker as the caller last saw it ("0" when the partition never stepped). */
  readonly step: string
}

/** FENCED: the caller does not hold the lease. STALE: Redis is not where the caller left it. */
export type StepRefusal = "fenced" | "stale"

export const stepRefusal = (e: unknown): StepRefusal | undefined => {
  const message = e instanceof Error ? e.message : ""
  if (message.startsWith("STRATA_FENCED")) return "fenced"
  if (message.startsWith("STRATA_STALE")) return "stale"
  return undefined
}

/** The partition's stream time as the last applied step recorded it; null when none has. */
export const readStreamTime = async (redis: Redis, keys: PartitionKeys): Promise<number | null> => {
  const text = await redis.get(keys.streamTime)
  return text === null ? null : Number(text)
}

/** The step marker now in Redis (read after a refusal, a failure or a lease change). */
export const readStepMarker = async (redis: Redis, keys: PartitionKeys): Promise<string> =>
  (await redis.get(keys.step)) ?? "0"

type WithApply = Redis & {
  strataApplyBatch(k1: string, k2: string, k3: string, k4: string, k5: string, k6: string, k7: string, k8: string, k9: string, k10: string, group: string, payload: string, ...snaps: string[]): Promise<number>
}

export const defineAtomicStep = (redis: Redis): void => {
  if (!("strataApplyBatch" in redis)) redis.defineCommand("strataApplyBatch", { numberOfKeys: 10, lua: APPLY_BATCH })
}

/**
 * Apply one batch. Returns the number of entries applied: all of them, or 0 when the
 * batch had already been applied. Rejects (STRATA_PARTIAL) when only some were, and with
 * STRATA_FENCED / STRATA_STALE when the guard refuses the step.
 */
export const applyBatch = (
  redis: Redis, ingress: IngressKeys, keys: PartitionKeys, group: string, payload: StepPayload
): Promise<number> => {
  defineAtomicStep(redis)
  // cjson turns an empty table into {} rather than []; the script only iterates, so either works.
  // Snapshots travel as plain arguments after the JSON: they are JSON already, and nesting
  // them would escape every quote on the way in and decode them again in the script.
  // The stream time travels as text: the script stores it as given.
  const { snaps, streamTime, directIds, ...rest } = payload
  const direct = directIds === undefined || directIds.length === 0 ? rest : { ...rest, direct: directIds }
  const json = JSON.stringify(streamTime === null ? direct : { ...direct, stream_time: String(streamTime) })
  return (redis as WithApply).strataApplyBatch(
    ingress.scores, ingress.scoresDead, keys.snapshots, keys.lifecycle, keys.backfill, keys.stats,
    keys.lease, keys.step, keys.streamTime, keys.scoresDirect, group, json, ...snaps
  )
}
