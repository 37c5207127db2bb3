/**
 * Moving an install of one partition to `to` partitions (`strata partitions migrate`), with
 * every engine stopped. In order, each step safe to run again:
 *
 * 1. mark the install record `migrating` (engines and workers refuse to start from here);
 * 2. refuse, unmarking a mark this run set, while an engine holds a lease or is a member,
 *    the engine group on the ingress stream has entries read and not applied, or a worker
 *    holds a backfill command of partition 0, or partition 0's direct scores stream (which
 *    an install of one partition does not read) holds entries (partition-move-plan.ts);
 * 3. give the router's group on the ingress stream the position (and read count) the
 *    engine's group reached: the router routes exactly the entries the engine did not
 *    apply, none twice (set again on a re-run; nothing reads the stream meanwhile);
 * 4. per symbol whose partition under `to` is not 0, copy its snapshot to its partition's
 *    snapshots hash, then delete it from partition 0's (a Cluster cannot move a field
 *    across slots atomically; a re-run copies again what is still in partition 0, the
 *    same value, then deletes it, so nothing is lost or doubled);
 * 5. give every partition the stream time partition 0 reached (the greatest, kept);
 * 6. move backfill commands of moving symbols that no worker has read yet to their
 *    partition's backfill stream under their own IDs (copied in ID order, an ID at or below
 *    the target's last one skipped as copied before), then delete them from partition 0's;
 * 7. drop the engine's group on the ingress stream (nobody reads through it any more);
 * 8. record `partitions = to` and clear the mark, in one transaction.
 *
 * Partition 0's streams stay where they are: its lifecycle and backfill history and dead
 * letters are its own at every count (the projector and the workers read every
 * partition), and partition 0's per-partition counters go on counting. The staleness
 * index is rebuilt from the snapshots when a partition is taken, so nothing of it moves.
 * Does not start or stop engines, and logs nothing (the CLI reports).
 */
import type { Redis } from "ioredis"
import { ensureGroup } from "../../streams/consumer.ts"
import { readLatest, readRange } from "../../streams/stream-read.ts"
import { fieldRecord, fieldValue } from "../../streams/entry.ts"
import { finishMigrating, markMigrating, readInstallRecord, streamGroups, unrecordedState } from "../../streams/install-record.ts"
import { GROUPS, ingressKeys, installKey, membershipKeys, partitionKeys, routerKeys, type PartitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { moveRefusal, moveStart, symbolMoves, type MoveFacts } from "./partition-move-plan.ts"

/** Snapshots hash fields, and backfill entries, handled per page. */
const PAGE = 500

export interface MoveOptions {
  /** Called after every write (tests kill the process here, at any of them). */
  readonly progress?: (step: string) => void
  /** Snapshots and backfill entries per page (default 500). */
  readonly page?: number
}

export class MoveRefused extends Error {}

export interface MoveReport {
  readonly to: number
  /** Nothing to do: the install has `to` partitions already. */
  readonly alreadyDone: boolean
  /** An earlier run had marked the record; this one finished its work. */
  readonly resumed: boolean
  /** Snapshots this run moved, per partition (index = partition). */
  readonly snapshots: readonly number[]
  /** Unread backfill commands this run moved. */
  readonly backfill: number
  /** The ingress position the router starts after. */
  readonly routerFrom: string | undefined
}

const holderOf = async (redis: Redis, key: string): Promise<{ owner: string; pttlMs: number } | undefined> => {
  const owner = await redis.hget(key, "owner")
  return owner === null ? undefined : { owner, pttlMs: await redis.pttl(key) }
}

const liveMembers = async (redis: Redis, prefix: string): Promise<string[]> => {
  const [seconds, micros] = await redis.time()
  const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
  return redis.zrangebyscore(membershipKeys(prefix).members, `(${nowMs}`, "+inf")
}

/** Backfill commands of partition 0 that a worker holds (pending in the workers' group). */
const heldBackfill = async (redis: Redis, keys: PartitionKeys): Promise<number> =>
  (await streamGroups(redis, keys.backfill)).find((g) => g.name === GROUPS.workers)?.pending ?? 0

const movesUnder = (symbol: string, to: number): boolean => symbolPartition(symbol, to) !== 0

const facts = async (redis: Redis, prefix: string): Promise<MoveFacts> => {
  const keys = partitionKeys(prefix, 0)
  const engine = (await streamGroups(redis, ingressKeys(prefix).scores)).find((g) => g.name === GROUPS.engine)
  return {
    lease: await holderOf(redis, keys.lease),
    router: await holderOf(redis, routerKeys(prefix).lease),
    members: await liveMembers(redis, prefix),
    enginePending: engine?.pending ?? 0,
    backfillHeld: await heldBackfill(redis, keys),
    directEntries: await redis.xlen(keys.scoresDirect)
  }
}

/** Step 3: the router's group where the engine's group is (or at the start, if the engine never read). */
const placeRouterGroup = async (redis: Redis, prefix: string): Promise<string | undefined> => {
  const scores = ingressKeys(prefix).scores
  const engine = (await streamGroups(redis, scores)).find((g) => g.name === GROUPS.engine)
  if (engine === undefined) {
    // Gone on a re-run after step 7 (the router's group was placed before it), or never made.
    await ensureGroup(redis, scores, GROUPS.router, "0")
    return undefined
  }
  await ensureGroup(redis, scores, GROUPS.router, engine.lastDeliveredId)
  if (engine.entriesRead === null) await redis.xgroup("SETID", scores, GROUPS.router, engine.lastDeliveredId)
  else await redis.xgroup("SETID", scores, GROUPS.router, engine.lastDeliveredId, "ENTRIESREAD", engine.entriesRead)
  return engine.lastDeliveredId
}

/** Step 4: every snapshot of a moving symbol, copied then deleted, a page at a time. */
const moveSnapshots = async (redis: Redis, prefix: string, to: number, progress: (step: string) => void, pageSize: number): Promise<number[]> => {
  const from = partitionKeys(prefix, 0).snapshots
  const moved = Array.from({ length: to }, () => 0)
  // A field present for the whole scan is returned by it; fields are only deleted here.
  let cursor = "0"
  do {
    const [next, flat] = await redis.hscan(from, cursor, "COUNT", pageSize)
    const page = fieldRecord(flat)
    for (const [p, symbols] of symbolMoves(Object.keys(page), to)) {
      const target = partitionKeys(prefix, p, to).snapshots
      await redis.hset(target, ...symbols.flatMap((s) => [s, page[s] as string]))
      progress("snapshots copied")
      await redis.hdel(from, ...symbols)
      moved[p] = (moved[p] ?? 0) + symbols.length
      progress("snapshots deleted")
    }
    cursor = next
  } while (cursor !== "0")
  return moved
}

/** Step 5: no partition's stream time behind partition 0's. */
const spreadStreamTime = async (redis: Redis, prefix: string, to: number): Promise<void> => {
  const time = await redis.get(partitionKeys(prefix, 0).streamTime)
  if (time === null) return
  for (let p = 1; p < to; p++) {
    const key = partitionKeys(prefix, p, to).streamTime
    const current = await redis.get(key)
    if (current === null || Number(current) < Number(time)) await redis.set(key, time)
  }
}

const idAbove = (a: string, b: string): boolean => {
  const [am, as] = a.split("-").map(Number) as [number, number]
  const [bm, bs] = b.split("-").map(Number) as [number, number]
  return am > bm || (am === bm && as > bs)
}

const lastIdOf = async (redis: Redis, stream: string): Promise<string> => (await readLatest(redis, stream, 1))[0]?.id ?? "0-0"

/** Step 6: unread backfill commands of moving symbols, to their partition's stream under their IDs. */
const moveBackfill = async (redis: Redis, prefix: string, to: number, progress: (step: string) => void, pageSize: number): Promise<number> => {
  const from = partitionKeys(prefix, 0).backfill
  const group = (await streamGroups(redis, from)).find((g) => g.name === GROUPS.workers)
  let after = group?.lastDeliveredId ?? "0-0"
  let moved = 0
  for (;;) {
    const page = await readRange(redis, from, `(${after}`, "+", pageSize)
    if (page.length === 0) return moved
    for (const entry of page) {
      const symbol = fieldValue(entry.fields, "symbol")
      if (symbol === undefined || !movesUnder(symbol, to)) continue
      const target = partitionKeys(prefix, symbolPartition(symbol, to), to).backfill
      if (idAbove(entry.id, await lastIdOf(redis, target))) await redis.xadd(target, entry.id, ...entry.fields)
      progress("backfill copied")
      await redis.xdel(from, entry.id)
      moved++
      progress("backfill deleted")
    }
    after = (page[page.length - 1] as { id: string }).id
  }
}

/** Move the install to `to` partitions; throws MoveRefused (nothing changed) when it may not. */
export const movePartitions = async (redis: Redis, prefix: string, to: number, options: MoveOptions = {}): Promise<MoveReport> => {
  const progress = options.progress ?? (() => undefined)
  const page = options.page ?? PAGE
  const record = await readInstallRecord(redis, prefix)
  const start = moveStart(record, record.partitions === undefined ? await unrecordedState(redis, prefix) : "none", to)
  if (start.kind === "refused") throw new MoveRefused(start.reason)
  if (start.kind === "done") return { to, alreadyDone: true, resumed: false, snapshots: [], backfill: 0, routerFrom: undefined }
  // Marked before looking for engines: one that starts from here on sees the mark.
  await markMigrating(redis, prefix, to)
  progress("marked")
  const refusal = moveRefusal(await facts(redis, prefix))
  if (refusal !== undefined) {
    if (!start.resumed) await redis.hdel(installKey(prefix), "migrating")
    throw new MoveRefused(refusal)
  }
  const routerFrom = await placeRouterGroup(redis, prefix)
  progress("router group placed")
  const snapshots = await moveSnapshots(redis, prefix, to, progress, page)
  await spreadStreamTime(redis, prefix, to)
  progress("stream time spread")
  const backfill = await moveBackfill(redis, prefix, to, progress, page)
  // XGROUP needs the stream; the router's group made it (MKSTREAM) in step 3.
  await redis.xgroup("DESTROY", ingressKeys(prefix).scores, GROUPS.engine)
  progress("engine group dropped")
  await finishMigrating(redis, prefix, to)
  return { to, alreadyDone: false, resumed: start.resumed, snapshots, backfill, routerFrom }
}
