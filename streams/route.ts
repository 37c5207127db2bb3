/**
 * The ingress router's Redis steps (src/engine/router.ts decides when to take them):
 * take ingress entries — new ones, or a takeover of the group's pending ones — only while
 * holding the router's lease (one script: check and read), wait for more without taking
 * any, copy a batch into one partition's scores stream under the entries' own
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
  strataRouteRead(scores: string, lease: string, owner: string, epoch: string, group: string, consumer: string, count: number, mode: "new" | "pending"): Promise<[RawEntry[], string, string[]]>
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

// A nil in a script's reply (a removed entry's fields, before Redis 7) arrives as null or is dropped.
const entriesOf = (rows: readonly RawEntry[]): StreamEntry[] =>
  rows.flatMap(([id, fields]) => (fields === null || fields === undefined ? [] : [{ id, fields }]))

export interface FencedRead {
  readonly entries: StreamEntry[]
  /** The ingress stream's last ID when a read of new entries found none ("0-0" otherwise): wait past it. */
  readonly lastId: string
  /** Taken-over IDs that were pending but are no longer in the stream (trimmed before they were routed). */
  readonly removed: string[]
}

/**
 * When `holder` holds the router's lease, up to `count` entries for `consumer`: with
 * "new", entries never delivered to the group (never blocks); with "pending", a takeover
 * of the group's lowest pending entries, whichever consumer holds them, this one
 * included. Ascending ID order. Rejects with STRATA_FENCED when `holder` does not hold it.
 */
export const readFenced = async (
  redis: Redis, ingress: IngressKeys, router: RouterKeys, holder: LeaseHolder, group: string, consumer: string, count: number, mode: "new" | "pending"
): Promise<FencedRead> => {
  const [rows, lastId, deleted] = await defineRoute(redis).strataRouteRead(ingress.scores, router.lease, holder.owner, holder.epoch, group, consumer, count, mode)
  // Before Redis 7 a removed entry came back with nil fields instead of in the third list.
  const removed = [...(deleted ?? []), ...(rows ?? []).filter(([, f]) => f === null || f === undefined).map(([id]) => id)]
  return { entries: entriesOf(rows ?? []), lastId: String(lastId), removed }
}

/**
 * Wait up to `blockMs` for an entry after `afterId` (XREAD BLOCK, outside the group, so it
 * takes nothing). Needs a connection of its own while it blocks.
 */
export const waitForEntries = async (redis: Redis, stream: string, afterId: string, blockMs: number): Promise<void> => {
  await redis.xread("COUNT", 1, "BLOCK", blockMs, "STREAMS", stream, afterId)
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
