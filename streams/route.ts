/**
 * The ingress router's Redis steps (src/engine/router.ts decides when to take them):
 * read the next ingress entries only while holding the router's lease (one script: check
 * and read), wait for more without taking any, take over every pending entry of the
 * router's group, copy a batch into one partition's scores stream under the entries' own
 * IDs behind the partition's router fence (one script per partition: its keys share the
 * partition's slot), dead-letter a rejected entry, and acknowledge a routed batch.
 * Does not decode entries or choose partitions, and holds no state.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { LeaseHolder } from "./lease.ts"
import type { StreamEntry } from "./entry.ts"
import type { IngressKeys, PartitionKeys, RouterKeys } from "./keys.ts"

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8")
const COPY = lua("route-copy-2.lua")
const READ = lua("route-read-2.lua")

type RawEntry = [string, string[] | null]
type WithRoute = Redis & {
  strataRouteCopy(scores: string, fence: string, epoch: string, ...entries: string[]): Promise<[number, number]>
  strataRouteRead(scores: string, lease: string, owner: string, epoch: string, group: string, consumer: string, count: number): Promise<[RawEntry[], string]>
}

const defineRoute = (redis: Redis): WithRoute => {
  if (!("strataRouteCopy" in redis)) {
    redis.defineCommand("strataRouteCopy", { numberOfKeys: 2, lua: COPY })
    redis.defineCommand("strataRouteRead", { numberOfKeys: 2, lua: READ })
  }
  return redis as WithRoute
}

export interface CopyResult {
  /** Entries added to the partition's stream. */
  readonly copied: number
  /** Entries at or below the stream's last ID: copied before. */
  readonly skipped: number
}

/**
 * Copy `entries` (ascending IDs) into the partition's scores stream for the router of
 * `epoch`. Rejects with STRATA_FENCED (see `stepRefusal`) when a router of a greater epoch
 * has copied into this partition; nothing is written then.
 */
export const copyToPartition = async (
  redis: Redis, keys: PartitionKeys, epoch: string, entries: readonly StreamEntry[]
): Promise<CopyResult> => {
  const args: string[] = []
  for (const e of entries) args.push(e.id, String(e.fields.length), ...e.fields)
  const [copied, skipped] = await defineRoute(redis).strataRouteCopy(keys.scores, keys.routerFence, epoch, ...args)
  return { copied: Number(copied), skipped: Number(skipped) }
}

const entriesOf = (rows: readonly RawEntry[]): StreamEntry[] => rows.flatMap(([id, fields]) => (fields === null ? [] : [{ id, fields }]))

export interface FencedRead {
  readonly entries: StreamEntry[]
  /** The ingress stream's last ID when nothing was read ("0-0" otherwise): wait past it. */
  readonly lastId: string
}

/**
 * Up to `count` entries never delivered to the group, delivered to `consumer`, when
 * `holder` holds the router's lease; rejects with STRATA_FENCED otherwise. Never blocks.
 */
export const readNewFenced = async (
  redis: Redis, ingress: IngressKeys, router: RouterKeys, holder: LeaseHolder, group: string, consumer: string, count: number
): Promise<FencedRead> => {
  const [rows, lastId] = await defineRoute(redis).strataRouteRead(ingress.scores, router.lease, holder.owner, holder.epoch, group, consumer, count)
  return { entries: entriesOf(rows ?? []), lastId: String(lastId) }
}

/**
 * Wait up to `blockMs` for an entry after `afterId` (XREAD BLOCK, outside the group, so it
 * takes nothing). Needs a connection of its own while it blocks.
 */
export const waitForEntries = async (redis: Redis, stream: string, afterId: string, blockMs: number): Promise<void> => {
  await redis.xread("COUNT", 1, "BLOCK", blockMs, "STREAMS", stream, afterId)
}

export interface TakenOver {
  readonly entries: StreamEntry[]
  /** IDs that were pending but are no longer in the stream (trimmed before they were routed). */
  readonly removed: string[]
}

/**
 * Take over the `count` lowest pending entries of the group, whichever consumer holds
 * them, this one included (XAUTOCLAIM from the start, no idle time required: the caller
 * holds the router's lease and every other router is fenced). Ascending ID order.
 */
export const takeOverPending = async (redis: Redis, stream: string, group: string, consumer: string, count: number): Promise<TakenOver> => {
  const [, rows, deletedIds] = (await redis.xautoclaim(stream, group, consumer, 0, "0-0", "COUNT", count)) as [string, RawEntry[], string[]?]
  // Before Redis 7 a removed entry came back with nil fields instead of in the third list.
  const removed = [...(deletedIds ?? []), ...rows.filter(([, f]) => f === null).map(([id]) => id)]
  return { entries: entriesOf(rows), removed }
}

/** Write dead letters (field lists built by dead-letter.ts) to the ingress dead-letter stream. */
export const writeDeadLetters = async (redis: Redis, ingress: IngressKeys, letters: readonly (readonly string[])[]): Promise<void> => {
  if (letters.length === 0) return
  const pipeline = redis.pipeline()
  for (const fields of letters) pipeline.xadd(ingress.scoresDead, "*", ...fields)
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err
}

/** Acknowledge routed entries on the ingress group. */
export const ackRouted = async (redis: Redis, ingress: IngressKeys, group: string, ids: readonly string[]): Promise<void> => {
  if (ids.length > 0) await redis.xack(ingress.scores, group, ...ids)
}
