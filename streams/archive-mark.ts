/**
 * The scores archive's mark in Redis (`scoresArchived` in keys.ts): the greatest scores
 * entry ID that is in the lake and verified. Read by anyone (replay, record, the trimmer);
 * advanced only by the partition lease's holder and only forward, in one script, so a
 * former owner paused past its lease cannot move it. Does not archive anything itself.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { PartitionKeys } from "./keys.ts"
import type { LeaseHolder } from "./lease.ts"

const ADVANCE = readFileSync(new URL("./lua/archive-mark-2.lua", import.meta.url), "utf8")

type WithMark = Redis & { strataArchiveMark(lease: string, mark: string, owner: string, epoch: string, id: string): Promise<number> }

/** The mark, or undefined when nothing was ever archived. */
export const readArchiveMark = async (redis: Redis, keys: PartitionKeys): Promise<string | undefined> =>
  (await redis.get(keys.scoresArchived)) ?? undefined

/** Move the mark to `id` (true), or leave it when it already is at or past `id` (false). Rejects STRATA_FENCED. */
export const advanceArchiveMark = async (redis: Redis, keys: PartitionKeys, holder: LeaseHolder, id: string): Promise<boolean> => {
  if (!("strataArchiveMark" in redis)) redis.defineCommand("strataArchiveMark", { numberOfKeys: 2, lua: ADVANCE })
  return (await (redis as WithMark).strataArchiveMark(keys.lease, keys.scoresArchived, holder.owner, holder.epoch, id)) === 1
}
