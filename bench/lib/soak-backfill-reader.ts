/**
 * The soak's stand-in for the backfill workers: the soak runs the engine alone (workers off,
 * as every bench engine), and without the workers' group nothing may trim the backfill
 * stream (no one has read its commands), so it would grow with every command the engine
 * emits. This reader creates the workers' group and acknowledges each command as it comes,
 * on a connection of its own, like workers that keep up; it fetches nothing. The soak then
 * measures a deployment whose workers keep up, not one whose workers never ran.
 * Does not run backfills, and touches no other stream.
 */
import type { Redis } from "ioredis"
import { ensureGroup, readGroup } from "../../streams/consumer.ts"
import { GROUPS } from "../../streams/keys.ts"

export interface BackfillReader {
  /** Commands read and acknowledged so far. */
  readonly acked: () => number
  readonly stop: () => Promise<void>
}

export const startBackfillReader = async (redis: Redis, backfill: string, log: (m: string) => void): Promise<BackfillReader> => {
  await ensureGroup(redis, backfill, GROUPS.workers)
  let acked = 0
  let stopping = false
  const loop = (async () => {
    while (!stopping) {
      try {
        const entries = await readGroup(redis, backfill, GROUPS.workers, "bench-soak", 1000, 500, ">")
        if (entries.length > 0) acked += Number(await redis.xack(backfill, GROUPS.workers, ...entries.map((e) => e.id)))
      } catch (e) {
        // A failed read (the bench's Redis busy) is retried; nothing is lost, the group keeps the position.
        if (!stopping) log(`soak backfill reader: ${(e as Error).message}; retrying`)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  })()
  return {
    acked: () => acked,
    stop: async () => {
      stopping = true
      await loop
    }
  }
}
