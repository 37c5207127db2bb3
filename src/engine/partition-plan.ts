/**
 * Which partitions one engine should take and give up, from the live members Redis
 * reported (with the Redis TIME each one joined at) and the partitions the engine holds.
 * Pure: no I/O, no clock of its own (`nowMs` is the Redis TIME of the heartbeat that
 * reported the members). Does not take or release anything: the engine does, through the
 * partition leases, whose fencing stays the authority on who applies a partition's steps.
 *
 * Who is given partitions ("counted"): a member that has been a member for the join
 * debounce (`sinceMs + debounce <= nowMs`, settled), and a member that Redis marked
 * `founding` (the heartbeat script marks a member that joined while no live member was
 * settled, and every live member when none counts at all). Engines started together are
 * all founding: they count from their first heartbeat and keep counting as each settles,
 * so they settle once instead of being dropped until each settles in turn. A member that
 * joins an install with a settled member counts only after its debounce, so a restart
 * loop or a short-lived process moves nothing. Counting only ever grows for a live member
 * (settled stays settled, the mark stays), so no member loses its share while it lives,
 * and one leaving moves nobody else's. The mark is kept in Redis, not derived here from
 * the oldest live member, because that member's leaving would change who counts. Should
 * a view hold no counted member (the script never leaves one so), everyone counts.
 *
 * The partitions: rendezvous over the counted members (rendezvous.ts). A counted engine
 * desires its share, takes what it does not hold and releases what it holds beyond it:
 * each such partition belongs to another counted member, which takes it within a tick.
 * An engine that does not count yet desires nothing: it takes nothing, and gives up what
 * it may still hold (e.g. after its membership lapsed and it re-joined), since every
 * partition then has a counted owner. A view with a member always has a counted one, so
 * every partition always has an owner trying to take it: the expired member's runner-up,
 * within one heartbeat period after the owner's membership ended (a TTL after its last
 * heartbeat), and never later than the debounce plus one heartbeat. With no member at all
 * (not even self) there is nobody to hand a partition to: keep what is held.
 */
import type { Member } from "../../streams/membership.ts"
import { assignPartitions } from "./rendezvous.ts"

export type { Member }

export interface PlanInput {
  readonly self: string
  /** The live members, in any order (self among them after a successful heartbeat). */
  readonly members: readonly Member[]
  /** Redis TIME (ms) of the heartbeat that reported the members. */
  readonly nowMs: number
  /** The install's partition count. */
  readonly count: number
  /** lease.join_debounce_ms. */
  readonly debounceMs: number
  /** The partitions this engine holds now. */
  readonly held: Iterable<number>
}

export interface PartitionPlan {
  /** Partitions to try to take (ascending): desired and not held. */
  readonly take: readonly number[]
  /** Partitions to give up (ascending): held and another counted member's. */
  readonly release: readonly number[]
  /** The partitions this engine should hold (ascending). */
  readonly desired: readonly number[]
}

const ascending = (ps: Iterable<number>): number[] => [...new Set(ps)].sort((a, b) => a - b)

/** The members given partitions now (ids, sorted), per the module's rules. */
export const countedMembers = (members: readonly Member[], nowMs: number, debounceMs: number): readonly string[] => {
  // One entry per id, so a repeated member cannot change the answer.
  const counts = new Map<string, boolean>()
  for (const m of members) counts.set(m.id, (counts.get(m.id) ?? false) || m.founding || m.sinceMs + debounceMs <= nowMs)
  const counted = [...counts].filter(([, c]) => c).map(([id]) => id)
  return (counted.length > 0 ? counted : [...counts.keys()]).sort()
}

/** What this engine should take and give up. */
export const planPartitions = (input: PlanInput): PartitionPlan => {
  const held = new Set(input.held)
  const counted = countedMembers(input.members, input.nowMs, input.debounceMs)
  const desired = counted.includes(input.self)
    ? assignPartitions(counted, input.count).flatMap((owner, p) => (owner === input.self ? [p] : []))
    : []
  const want = new Set(desired)
  // Nobody counts only when nobody is a member (not even self): no one to hand a partition to.
  if (counted.length === 0) return { take: [], release: [], desired: [] }
  return {
    take: desired.filter((p) => !held.has(p)),
    release: ascending([...held].filter((p) => !want.has(p))),
    desired
  }
}

/**
 * The plan when this engine cannot be sure it is still a member (its heartbeat was not
 * renewed before its own membership would end): others may already own its partitions.
 */
export const releaseAllPlan = (held: Iterable<number>): PartitionPlan => ({ take: [], release: ascending(held), desired: [] })
