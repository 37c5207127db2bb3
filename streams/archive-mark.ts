/**
 * The scanner archive's mark in Redis (`scoresArchived` of keys.ts `archiveKeys`: partition
 * 0's in an install of one partition, the router's in a partitioned one): the greatest
 * ingress scores entry ID that is in the lake and verified. Read by anyone (replay, record,
 * the trimmer); advanced only by the holder of the lease beside it and only forward, in one
 * script, so a former holder paused past its lease cannot move it. Does not archive anything
 * itself.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { ArchiveKeys } from "./keys.ts"
import type { LeaseHolder } from "./lease.ts"

const ADVANCE = readFileSync(new URL("./lua/archive-mark-2.lua", import.meta.url), "utf8")

type WithMark = Redis & { strataArchiveMark(lease: string, mark: string, owner: string, epoch: string, id: string): Promise<number> }

/**
 * The mark, or undefined when nothing was ever archived. While the mark is unset, an
 * inherited one (an install grown from one partition) stands for it: the archive up to it
 * is there, and the first chunk past it sets the mark itself.
 */
export const readArchiveMark = async (redis: Redis, keys: Pick<ArchiveKeys, "scoresArchived" | "inherited">): Promise<string | undefined> => {
  const own = await redis.get(keys.scoresArchived)
  if (own !== null || keys.inherited === undefined) return own ?? undefined
  return (await redis.get(keys.inherited)) ?? undefined
}

/** Move the mark to `id` (true), or leave it when it already is at or past `id` (false). Rejects STRATA_FENCED. */
export const advanceArchiveMark = async (redis: Redis, keys: ArchiveKeys, holder: LeaseHolder, id: string): Promise<boolean> => {
  if (!("strataArchiveMark" in redis)) redis.defineCommand("strataArchiveMark", { numberOfKeys: 2, lua: ADVANCE })
  return (await (redis as WithMark).strataArchiveMark(keys.lease, keys.scoresArchived, holder.owner, holder.epoch, id)) === 1
}
