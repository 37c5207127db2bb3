/**
 * The Redis Cluster hash tag of each partition, chosen so that a Cluster's masters get an
 * even share of the partitions. Every key of partition p is `PREFIX:{tag}:…`, so the tag
 * alone decides the slot (CRC16 of the tag mod 16384, the `cluster-key-slot` function
 * ioredis routes by). The plain tags `{0}…{N-1}` land on arbitrary slots and may bunch
 * on one master; `redis-cli --cluster create` on M masters gives master i the i-th of M
 * contiguous, (almost) equal slot ranges. So the tags are picked by slot:
 *
 * - The slots are cut into `count` equal shares; share r holds the slots s with
 *   floor(s · count / 16384) = r.
 * - Partition 0 keeps the tag `0` (an install made before partitions keeps its keys);
 *   its slot (13907) falls into some share r0.
 * - Partition p ≥ 1 gets share (p + r0) mod count, and the first of the candidates `p`,
 *   `p-1`, `p-2`, … whose slot lies inside that share, not on its first or last slot
 *   (redis-cli rounds its master boundaries by up to one slot either way).
 *
 * Shares are disjoint, so the slots are distinct, and when M divides `count` each master
 * of a redis-cli-made Cluster holds exactly count / M partitions. A rotation of the
 * shares, not the plain p-th share, is what lets partition 0 keep `0` at no cost to the
 * spread. The tags depend on `count` only (not on the prefix, not on the Cluster), so
 * every process computes the same ones.
 *
 * DEFAULT_PARTITIONS is 24: divisible by 2, 3, 4, 6, 8 and 12, so a Cluster of 2–4, 6 or
 * 8 masters gets an even spread and up to 24 engine processes can share the work, while
 * an owner's per-partition costs (one lease renewal and one reader per partition) stay
 * small. 12 (divisible by 3, 4 and 6 as well) halves those costs for installs that will
 * never run more than a dozen engines.
 *
 * Pure and memoised per count. Does not build keys (keys.ts does) nor read the Cluster's
 * actual slot map (a resharded Cluster may differ; the owner can check at start).
 */
import calculateSlot from "cluster-key-slot"
import { assertPartitionCount } from "./partition.ts"

/** The slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16384

/** The suggested partition count (see the module comment for why). */
export const DEFAULT_PARTITIONS = 24

/** The tag partition 0 has always had. */
const ZERO_TAG = "0"

/** The Cluster slot of a hash tag, i.e. of every key `…{tag}…`. */
export const tagSlot = (tag: string): number => calculateSlot(tag)

/** Which of `count` equal shares a slot lies in. */
export const shareOfSlot = (slot: number, count: number): number => Math.floor((slot * count) / CLUSTER_SLOTS)

/** The first and last slot of share `share` of `count`. */
export const slotShare = (share: number, count: number): { readonly first: number; readonly last: number } => ({
  first: Math.ceil((share * CLUSTER_SLOTS) / count),
  last: Math.ceil(((share + 1) * CLUSTER_SLOTS) / count) - 1
})

/** The share partition p's tag must lie in. */
export const partitionShare = (partition: number, count: number): number =>
  (partition + shareOfSlot(tagSlot(ZERO_TAG), count)) % count

/**
 * More candidates than any share needs: a share is at least 1/MAX_PARTITIONS of the
 * slots, so each candidate hits it with a chance of about 1/count, and `64 · count` misses
 * in a row has a chance below e^-60. The search is deterministic, so this only bounds it.
 */
const searchBound = (count: number): number => 64 * count + 1024

const pickTag = (partition: number, count: number): string => {
  if (partition === 0) return ZERO_TAG
  const { first, last } = slotShare(partitionShare(partition, count), count)
  for (let k = 0; k < searchBound(count); k++) {
    const tag = k === 0 ? String(partition) : `${partition}-${k}`
    const slot = tagSlot(tag)
    if (slot > first && slot < last) return tag
  }
  throw new Error(`no hash tag found for partition ${partition} of ${count}`)
}

/** The search itself, every call anew (partitionTags remembers its answers). */
export const choosePartitionTags = (count: number): readonly string[] => {
  assertPartitionCount(count)
  return Object.freeze(Array.from({ length: count }, (_, p) => pickTag(p, count)))
}

const memo = new Map<number, readonly string[]>()

/** The hash tag of every partition of an install with `count` partitions, index = partition. */
export const partitionTags = (count: number): readonly string[] => {
  const known = memo.get(count)
  if (known) return known
  const tags = choosePartitionTags(count)
  memo.set(count, tags)
  return tags
}

/** The hash tag of one partition of `count`. */
export const partitionTag = (partition: number, count: number): string => {
  const tags = partitionTags(count)
  const tag = tags[partition]
  if (!Number.isInteger(partition) || tag === undefined) throw new Error(`invalid partition ${partition}: an integer in [0, ${count})`)
  return tag
}
