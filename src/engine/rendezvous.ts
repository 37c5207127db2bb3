/**
 * Which member (an engine process, by its owner id) should own each partition:
 * rendezvous, or highest-random-weight, hashing. Every member computes the same answer
 * from the same member list, with no coordination, and the answer moves little when the
 * list changes: a partition's owner is the member with the greatest weight for it, so a
 * member that joins takes only the partitions it now wins (about count / (members + 1))
 * and a member that leaves hands on only its own, each to its runner-up.
 *
 *   weight(member, p) = uint64_be(first 8 bytes of SHA-256(UTF-8(member + "\n" + p)))
 *
 * Ties (practically never with 64 bits) go to the member id that sorts first, so the
 * answer never depends on the list's order or on duplicates in it.
 * Pure. Does not decide who the members are (membership, by heartbeat on Redis TIME) nor
 * take or fence anything (the partition lease does): it says who should try.
 */
import { createHash } from "node:crypto"

/** The weight of a member for a partition; the member with the greatest one owns it. */
export const rendezvousWeight = (member: string, partition: number): bigint =>
  createHash("sha256").update(`${member}\n${partition}`, "utf8").digest().readBigUInt64BE(0)

/**
 * The owner of each partition in [0, count), index = partition, among `members` (at least
 * one; duplicates count once).
 */
export const assignPartitions = (members: readonly string[], count: number): readonly string[] => {
  if (!Number.isInteger(count) || count < 0) throw new Error(`invalid partition count ${count}`)
  const ids = [...new Set(members)].sort()
  if (ids.length === 0) throw new Error("no members to assign partitions to")
  return Array.from({ length: count }, (_, p) => {
    let best = ids[0] as string
    let bestWeight = rendezvousWeight(best, p)
    for (const id of ids.slice(1)) {
      const w = rendezvousWeight(id, p)
      // Strictly greater: on a tie the id sorted first (already `best`) keeps it.
      if (w > bestWeight) {
        best = id
        bestWeight = w
      }
    }
    return best
  })
}

/** The partitions `member` should own among `members` (ascending). */
export const partitionsOf = (member: string, members: readonly string[], count: number): readonly number[] =>
  assignPartitions(members, count).flatMap((owner, p) => (owner === member ? [p] : []))
