/**
 * Every Redis key and consumer-group name the engine uses, built in one place.
 * Keys written for one partition share the hash tag `{p}` so one Lua script can touch
 * them all on one Cluster node; the prefix (default "strata") lets replay namespaces and
 * tests live beside a live install without sharing a key.
 */
import { partitionTag } from "./partition-tags.ts"

const PREFIX_PATTERN = /^[a-zA-Z0-9_.\-]{1,64}$/

export interface IngressKeys {
  /** Scanner scores, written by producers (redis-cli XADD, scanners, replay). */
  readonly scores: string
  /** Rejected scores entries, with reason, source_id and a bounded copy of the original fields. */
  readonly scoresDead: string
}

/** The keys of a singleton lease (lease.ts): its hash and its epoch counter. */
export interface LeaseKeys {
  readonly lease: string
  readonly leaseEpoch: string
}

export interface PartitionKeys extends LeaseKeys {
  readonly partition: number
  /** The install's partition count these keys were built for (their hash tag depends on it). */
  readonly count: number
  /**
   * The partition's scores stream, filled by the router from the ingress stream under each
   * entry's original ID (installs of more than one partition; one partition reads ingress).
   */
  readonly scores: string
  /**
   * The partition's direct scores stream (installs of more than one partition): producers
   * XADD it with `*` IDs, bypassing the router, which never writes it. Kept apart from the
   * router-filled stream so that the two never compete for an explicit ID; the partition's
   * engine reads both through its one group (same hash tag, same slot).
   */
  readonly scoresDirect: string
  /**
   * String: the greatest direct-stream entry ID archived to the lake and verified; every
   * direct entry at or below it is in the archive. Advanced by the partition's lease holder
   * only (directArchiveKeys), forward; while the archive is enabled the direct stream is
   * trimmed no further than it.
   */
  readonly scoresDirectArchived: string
  /**
   * String: the applied-through mark of the partition's scores input (`partitionScores`:
   * the ingress stream in an install of one partition, the router-filled stream otherwise),
   * the greatest entry ID of it an atomic step applied. The step skips an entry at or below
   * it (streams/atomic-step.ts). Kept in the partition's slot, under the partition's tag at
   * every count: partition 0's mark goes on across `strata partitions migrate`, which has the
   * router copy only entries above what partition 0's engine read.
   */
  readonly scoresApplied: string
  /** String: the applied-through mark of the partition's direct scores stream (as `scoresApplied`). */
  readonly scoresDirectApplied: string
  /** The partition's rejected scores entries (installs of more than one partition). */
  readonly scoresDead: string
  /**
   * Counter: the greatest router epoch that copied into this partition's scores stream. A
   * router whose epoch is lower copies nothing here (the router's fence, per partition).
   */
  readonly routerFence: string
  /** Lifecycle domain events (SymbolQualified, ...). */
  readonly lifecycle: string
  /** Lifecycle entries the projector could not decode, with reason, source_id and a bounded copy. */
  readonly lifecycleDead: string
  /** Backfill commands. */
  readonly backfill: string
  /** Backfill commands given up after too many deliveries, with their last error. */
  readonly backfillDead: string
  /** Hash: symbol → persisted actor snapshot (JSON). */
  readonly snapshots: string
  /** Hash: counters (applied, late, dead, batches). */
  readonly stats: string
  /** Hash with a TTL: the partition's owner (owner id, epoch, since_ms); gone when nobody holds it. */
  readonly lease: string
  /** Counter that only grows: the source of lease epochs (the fencing token). */
  readonly leaseEpoch: string
  /** Counter bumped by every atomic step that passes the guard: how far Redis is, as the owner expects it. */
  readonly step: string
  /**
   * String: the greatest entry ID archived to the lake and verified. Every entry of the
   * scores stream and of the scores dead-letter stream with an ID at or below it is in the
   * archive; trimming never removes one above it while the archive is enabled.
   */
  readonly scoresArchived: string
  /**
   * Hash: the trimming record, per stream name (`scores`, `lifecycle`, …): `<name>:last_at`
   * (Redis TIME, ms) and `<name>:last_removed` of the last pass that removed anything,
   * `<name>:removed` (total) and, for dead-letter streams, `<name>:dropped` (total).
   */
  readonly trims: string
  /** The partition's stream time: the greatest event time its atomic steps applied (ms). */
  readonly streamTime: string
}

/**
 * The engines that are members of an install, kept on Redis' clock (streams/membership.ts).
 * One hash tag for the three, so one script writes them on one Cluster node; the tag is
 * the install's, apart from every partition's.
 */
export interface MembershipKeys {
  /** Sorted set: member (owner id) → when its membership ends (Redis TIME, ms). */
  readonly members: string
  /** Hash: member → when its membership began (Redis TIME, ms). */
  readonly since: string
  /** Set: members given partitions before their join debounce (they joined while no member was settled). */
  readonly founding: string
}

export const GROUPS = {
  /** The engine's group on the scores stream. */
  engine: "strata-engine",
  /** The companies projector's group on a lifecycle stream. */
  projector: "strata-projector",
  /** The backfill workers' group on a backfill stream. */
  workers: "strata-workers",
  /** The ingress router's group on the ingress scores stream (installs of more than one partition). */
  router: "strata-router"
} as const

export const assertPrefix = (prefix: string): string => {
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`invalid key prefix "${prefix}": use 1-64 letters, digits, _ . -`)
  return prefix
}

export const ingressKeys = (prefix = "strata"): IngressKeys => {
  assertPrefix(prefix)
  return { scores: `${prefix}:scores`, scoresDead: `${prefix}:scores:dead` }
}

export const membershipKeys = (prefix = "strata"): MembershipKeys => {
  assertPrefix(prefix)
  const tag = `${prefix}:{members}`
  return { members: tag, since: `${tag}:since`, founding: `${tag}:founding` }
}

/**
 * The install record: a hash `PREFIX:install` with `partitions` (the count the install was
 * made with, or moved to) and, while `strata partitions migrate` runs, `migrating` (the
 * count it is moving to). Engines and workers check it at start (streams/install-record.ts).
 */
export const installKey = (prefix = "strata"): string => `${assertPrefix(prefix)}:install`

/**
 * The keys of one partition of an install of `count` partitions. Partition 0 keeps the tag
 * `{0}` at every count, so an install made with one partition keeps its keys; the other
 * partitions' tags are chosen by slot (partition-tags.ts), so they spread over a Cluster.
 */
export const partitionKeys = (prefix: string, partition: number, count = 1): PartitionKeys => {
  assertPrefix(prefix)
  const hash = partitionTag(partition, count)
  const tag = `${prefix}:{${hash}}`
  return {
    partition,
    count,
    scores: `${tag}:scores`,
    scoresDirect: `${tag}:scores:direct`,
    scoresDirectArchived: `${tag}:scores:direct:archived`,
    scoresApplied: `${tag}:scores:applied`,
    scoresDirectApplied: `${tag}:scores:direct:applied`,
    scoresDead: `${tag}:scores:dead`,
    routerFence: `${tag}:router:fence`,
    lifecycle: `${tag}:lifecycle`,
    lifecycleDead: `${tag}:lifecycle:dead`,
    backfill: `${tag}:backfill`,
    backfillDead: `${tag}:backfill:dead`,
    snapshots: `${tag}:snapshots`,
    stats: `${tag}:stats`,
    lease: `${tag}:lease`,
    leaseEpoch: `${tag}:lease:epoch`,
    step: `${tag}:step`,
    scoresArchived: `${tag}:scores:archived`,
    trims: `${tag}:trims`,
    streamTime: `${tag}:stream-time`
  }
}

/** The keys of every partition of an install of `count` partitions, partition 0 first. */
export const installPartitionKeys = (prefix: string, count: number): PartitionKeys[] =>
  Array.from({ length: count }, (_, p) => partitionKeys(prefix, p, count))

/**
 * The scores stream a partition's engine reads, and its dead letters: the ingress stream
 * itself in an install of one partition (as before partitions), the partition's own
 * router-filled stream otherwise.
 */
export const partitionScores = (prefix: string, keys: PartitionKeys): IngressKeys =>
  keys.count === 1 ? ingressKeys(prefix) : { scores: keys.scores, scoresDead: keys.scoresDead }

/**
 * Every scores stream a partition's engine reads through its group, first the one
 * partitionScores names, then, in an install of more than one partition, its direct
 * stream. An install of one partition has no direct stream: producers write ingress.
 */
export const partitionInputs = (prefix: string, keys: PartitionKeys): readonly string[] =>
  keys.count === 1 ? [ingressKeys(prefix).scores] : [keys.scores, keys.scoresDirect]

/**
 * The ingress router's keys (installs of more than one partition; src/engine/router.ts).
 * They carry the ingress scores stream's own name as their hash tag, so they share its
 * Cluster slot and one script can check the router's lease and read the stream.
 */
export interface RouterKeys extends LeaseKeys {
  /** Hash with a TTL: the router's holder (owner id, epoch, since_ms); gone when nobody holds it. */
  readonly lease: string
  /** Counter that only grows: the router's epochs, the fencing token of its copies (PartitionKeys.routerFence). */
  readonly leaseEpoch: string
  /** Hash: the trimming record of the ingress streams in a partitioned install (as PartitionKeys.trims). */
  readonly trims: string
  /**
   * String: the scanner archive's mark in a partitioned install, the greatest ingress entry
   * ID archived and verified (as PartitionKeys.scoresArchived for the ingress stream);
   * advanced by the router's holder, who archives the ingress stream.
   */
  readonly scoresArchived: string
  /**
   * Hash: the trimming record of the ingress dead-letter stream (fields as `trims`). Its
   * hash tag is that stream's own name, not the ingress stream's: the trim script writes
   * the record beside the stream it trims, and on a Cluster the two ingress streams are in
   * different slots.
   */
  readonly scoresDeadTrims: string
}

export const routerKeys = (prefix = "strata"): RouterKeys => {
  const ingress = ingressKeys(prefix)
  const tag = `${prefix}:{${ingress.scores}}`
  return {
    lease: `${tag}:router:lease`, leaseEpoch: `${tag}:router:lease:epoch`, trims: `${tag}:router:trims`,
    scoresArchived: `${tag}:router:scores:archived`,
    scoresDeadTrims: `${prefix}:{${ingress.scoresDead}}:router:trims`
  }
}

/**
 * The scanner archive's keys: a mark and the lease whose holder advances it, in one slot.
 * The archive covers the ingress stream in every install (archiveKeys) and, in a partitioned
 * install, each partition's direct stream (directArchiveKeys), one mark per stream.
 */
export interface ArchiveKeys extends LeaseKeys {
  readonly scoresArchived: string
  /**
   * A mark written before this one existed (partition 0's, in an install grown from one
   * partition): read while `scoresArchived` is unset, so that the archive goes on from it.
   */
  readonly inherited?: string
}

/**
 * Partition 0's lease and mark in an install of one partition (its engine reads the ingress
 * stream); in a partitioned install the router's, whose holder reads the ingress stream.
 */
export const archiveKeys = (prefix: string, partitions: number): ArchiveKeys & { readonly partition?: number } => {
  const first = partitionKeys(prefix, 0)
  if (partitions === 1) return first
  const r = routerKeys(prefix)
  return { lease: r.lease, leaseEpoch: r.leaseEpoch, scoresArchived: r.scoresArchived, inherited: first.scoresArchived }
}

/**
 * The archive keys of partition `partition`'s direct stream (installs of more than one
 * partition): its mark, fenced by the partition's own lease, both in the partition's slot.
 * The partition's holder archives its direct stream, so a new holder goes on from the mark.
 */
export const directArchiveKeys = (prefix: string, partition: number, count: number): ArchiveKeys => {
  const keys = partitionKeys(prefix, partition, count)
  return { lease: keys.lease, leaseEpoch: keys.leaseEpoch, scoresArchived: keys.scoresDirectArchived }
}

/** The Cluster hash tag of a key: the text between the first `{` and the next `}`, if non-empty. */
export const hashTag = (key: string): string => {
  const open = key.indexOf("{")
  if (open < 0) return key
  const close = key.indexOf("}", open + 1)
  if (close <= open + 1) return key
  return key.slice(open + 1, close)
}
