/**
 * The atomic step (DESIGN §5): one Lua script per batch writes the changed snapshots,
 * appends lifecycle events, backfill commands and dead letters, bumps counters, records
 * the partition's stream time, moves the applied-through marks and XACKs the input, all or
 * nothing. The input is the partition's scores stream and, in a partitioned install, its
 * direct stream too: each entry is checked and acknowledged on the stream it came from.
 * Its guard fences the step: it writes nothing unless the caller holds the partition's
 * lease (owner id and epoch, see lease.ts) and Redis' step marker is the value the caller
 * expects; each refusal is a distinct error the caller recognises with `stepRefusal`.
 *
 * Never applied twice: each input stream has an applied-through mark (keys.ts
 * `scoresApplied`, `scoresDirectApplied`), the greatest entry ID of that stream a step
 * applied, written by the same script as the outputs and the XACK. An entry at or below
 * the mark is acknowledged and skipped; a batch above it is applied and moves it. That is
 * exactly-once because every path that hands an entry over again hands over one the mark
 * covers, or one above it that no step applied:
 * - the partition's engine reads through one group and one consumer name per partition
 *   (`p<n>`, whoever owns it), its pending entries first, then new ones, in ID order per
 *   stream, and re-reads from its pending list after any failure, a new epoch or a restart
 *   (consumer.ts GroupReader). Entries are taken lowest first, so no entry below the mark
 *   is ever left unapplied: a step that failed or was refused applied nothing and moved
 *   nothing, and the next read starts again at the lowest pending entry;
 * - kill -9 at any instant: the script is atomic, so outputs, marks and XACK are all
 *   written or none is; a lost reply leaves entries acknowledged and at or below the mark,
 *   and the same batch sent again returns 0;
 * - a new owner (a moved partition, a takeover) reads the same keys, marks included, and
 *   the same consumer's pending list; a stale owner is fenced before the mark is read;
 * - the router copies ingress entries under their original IDs, and its copy refuses an ID
 *   at or below the partition stream's last (route.ts), so a copy is never handed over
 *   twice; were one re-copied into a re-created stream, the mark would skip it;
 * - an entry put back in the pending list (XCLAIM) after it was applied is at or below the
 *   mark: acknowledged, nothing else written;
 * - a re-driven dead letter is appended under a new `*` ID, above the stream's last, so above the mark;
 * - a namespace replay has its own prefix, so its own marks, and a reset deletes them with
 *   every key of the namespace; `strata partitions migrate` has the router copy only
 *   entries above the ingress position partition 0's engine reached, with nothing pending,
 *   so partition 0's mark (the same key at every count) stays below them, and every other
 *   partition starts with none;
 * - an older step marker: the guard refuses it (STALE) before the mark is looked at; Redis
 *   restored from an older AOF rolls marks, outputs and pending list back together.
 * Deleting an input stream by hand and writing it again under IDs at or below its mark
 * would have those entries skipped: delete the mark with it.
 * This module does not read the stream; the order it relies on is the reader's.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { IngressKeys, PartitionKeys } from "./keys.ts"

const APPLY_BATCH = readFileSync(new URL("./lua/apply-batch-12.lua", import.meta.url), "utf8")

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

/**
 * How output rows travel: "shaped" sends each distinct list of field names once per batch
 * and every row as its values (the names of a lifecycle event, say, are the same for each);
 * "plain" sends each row as its field list.
 */
export type RowEncoding = "shaped" | "plain"

type Rows = readonly (readonly string[])[]

/** Rows as [shape index, value, ...] over the batch's distinct field-name lists. */
const shapeRows = (groups: readonly Rows[]): { shapes: string[][]; rows: (string | number)[][][] } => {
  const index = new Map<string, number>()
  const shapes: string[][] = []
  const rows = groups.map((group) => group.map((fields) => {
    const names: string[] = []
    const row: (string | number)[] = [0]
    for (let i = 0; i + 1 < fields.length; i += 2) {
      names.push(fields[i] as string)
      row.push(fields[i + 1] as string)
    }
    // Field names never hold NUL (stream field names are the engine's own, short and printable).
    const key = names.join("\u0000")
    let at = index.get(key)
    if (at === undefined) {
      at = shapes.length
      index.set(key, at)
      shapes.push(names)
    }
    row[0] = at
    return row
  }))
  return { shapes, rows }
}

/**
 * The script's keys and arguments for one batch, as sent (KEYS first, then ARGV): every
 * key it touches is named in KEYS, as a Cluster requires.
 */
export const stepArguments = (
  ingress: IngressKeys, keys: PartitionKeys, group: string, payload: StepPayload, encoding: RowEncoding = "shaped"
): { readonly keys: readonly string[]; readonly args: readonly string[] } => {
  // cjson turns an empty table into {} rather than []; the script only iterates, so either works.
  // Snapshots travel as plain arguments after the JSON: they are JSON already, and nesting
  // them would escape every quote on the way in and decode them again in the script.
  // The stream time travels as text: the script stores it as given.
  const { snaps, streamTime, directIds, lifecycle, backfill, dead, ...rest } = payload
  const rows = encoding === "plain" || lifecycle.length + backfill.length + dead.length === 0
    ? { lifecycle, backfill, dead }
    : (({ shapes, rows: [l, b, d] }) => ({ shapes, lifecycle: l, backfill: b, dead: d }))(shapeRows([lifecycle, backfill, dead]))
  const body = {
    ...rest, ...rows,
    ...(directIds === undefined || directIds.length === 0 ? {} : { direct: directIds }),
    ...(streamTime === null ? {} : { stream_time: String(streamTime) })
  }
  return {
    keys: [ingress.scores, ingress.scoresDead, keys.snapshots, keys.lifecycle, keys.backfill, keys.stats,
      keys.lease, keys.step, keys.streamTime, keys.scoresDirect, keys.scoresApplied, keys.scoresDirectApplied],
    args: [group, JSON.stringify(body), ...snaps]
  }
}

type WithApply = Redis & { strataApplyBatch(...keysAndArgs: string[]): Promise<number> }

export const defineAtomicStep = (redis: Redis): void => {
  if (!("strataApplyBatch" in redis)) redis.defineCommand("strataApplyBatch", { numberOfKeys: 12, lua: APPLY_BATCH })
}

/**
 * Apply one batch. Returns the number of entries applied: all of them, or 0 when the
 * batch had been applied before (its entries acknowledged again). Rejects with
 * STRATA_PARTIAL when only some were (those acknowledged, nothing applied: the caller
 * reads its pending entries again), and with STRATA_FENCED / STRATA_STALE when the guard
 * refuses the step.
 */
export const applyBatch = (
  redis: Redis, ingress: IngressKeys, keys: PartitionKeys, group: string, payload: StepPayload, encoding: RowEncoding = "shaped"
): Promise<number> => {
  defineAtomicStep(redis)
  const step = stepArguments(ingress, keys, group, payload, encoding)
  return (redis as WithApply).strataApplyBatch(...step.keys, ...step.args)
}
