/**
 * The closing checks of a partitioned install's crash tests: what a run that was crashed
 * left in Redis and PostgreSQL equals what one uninterrupted engine left over the same
 * input (every partition's snapshots, router-filled scores, lifecycle and backfill entries
 * and counters; the lifecycle and backfill entries' own IDs aside), so every entry was
 * applied exactly once; nothing is left pending on either input stream; and every symbol's
 * lifecycle chain runs from layer 0 to its snapshot's layer without a break.
 * Does not run, feed, crash or wait for anything: the tests do.
 */
import type { Redis } from "ioredis"
import { expect } from "vitest"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { brokenChains } from "./lifecycle-chains.ts"
import type { TestNamespace } from "./namespace.ts"

/** Scores entries the install's `count` partitions have read and applied (their stats hashes). */
export const appliedEntries = async (ns: TestNamespace, count: number): Promise<number> => {
  let n = 0
  for (let p = 0; p < count; p++) n += Number((await ns.redis.hget(partitionKeys(ns.prefix, p, count).stats, "entries")) ?? 0)
  return n
}

const fieldsOnly = async (redis: Redis, key: string) => (await redis.xrange(key, "-", "+")).map(([, f]) => f)

/** A rejected entry's dead letter may be written twice across a crash (same source): the sources, once each. */
const deadSources = async (redis: Redis, key: string) => [...new Set((await fieldsOnly(redis, key)).map((f) => parseDeadLetter(f)?.sourceId))].sort()

/** What the install holds once settled, in a form two runs over the same input must share. */
export const installOutcome = async (ns: TestNamespace, count: number): Promise<Record<string, unknown>> => {
  const out: Record<string, unknown> = {}
  for (let p = 0; p < count; p++) {
    const keys = partitionKeys(ns.prefix, p, count)
    out[`${p}:snapshots`] = await ns.redis.hgetall(keys.snapshots)
    // Copied under the ingress entry's own ID: IDs and fields alike.
    out[`${p}:scores`] = await ns.redis.xrange(keys.scores, "-", "+")
    out[`${p}:lifecycle`] = await fieldsOnly(ns.redis, keys.lifecycle)
    out[`${p}:backfill`] = await fieldsOnly(ns.redis, keys.backfill)
    out[`${p}:stream-time`] = await ns.redis.get(keys.streamTime)
    const stats = await ns.redis.hgetall(keys.stats)
    out[`${p}:stats`] = Object.fromEntries(["entries", "applied", "late", "dead", "transitions", "commands"].map((f) => [f, stats[f]]))
    out[`${p}:dead`] = await deadSources(ns.redis, keys.scoresDead)
    for (const [name, stream] of [["pending", keys.scores], ["pending-direct", keys.scoresDirect]] as const) {
      out[`${p}:${name}`] = (await ns.redis.exists(stream)) === 0 ? 0 : ((await ns.redis.xpending(stream, GROUPS.engine)) as [number])[0]
    }
  }
  out["ingress:dead"] = await deadSources(ns.redis, ingressKeys(ns.prefix).scoresDead)
  out["companies"] = await ns.sql`SELECT symbol, layer FROM companies ORDER BY symbol`
  return out
}

/**
 * The crashed run `got` ends where the reference run `ref` ended (a reference with
 * something in it: an empty comparison proves nothing), and its lifecycle chains are unbroken.
 */
export const expectEndsAsReference = async (got: TestNamespace, ref: TestNamespace, count: number): Promise<void> => {
  const [actual, expected] = [await installOutcome(got, count), await installOutcome(ref, count)]
  expect(Object.values(expected).some((v) => Array.isArray(v) && v.length > 100), "the reference run holds something").toBe(true)
  expect(actual).toEqual(expected)
  for (let p = 0; p < count; p++) expect(await brokenChains(got.redis, partitionKeys(got.prefix, p, count)), `partition ${p}`).toEqual([])
}
