/**
 * Every Redis key and consumer-group name the engine uses, built in one place.
 * Keys written for one partition share the hash tag `{p}` so one Lua script can touch
 * them all on one Cluster node; the prefix (default "strata") lets replay namespaces and
 * tests live beside a live install without sharing a key.
 */
const PREFIX_PATTERN = /^[a-zA-Z0-9_.\-]{1,64}$/

export interface IngressKeys {
  /** Scanner scores, written by producers (redis-cli XADD, scanners, replay). */
  readonly scores: string
  /** Rejected scores entries, with reason, source_id and a bounded copy of the original fields. */
  readonly scoresDead: string
}

export interface PartitionKeys {
  readonly partition: number
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
   * String: the greatest scores entry ID archived in the lake and verified (read back). The
   * scores and scores dead-letter streams are never trimmed above it.
   */
  readonly scoresArchived: string
}

export const GROUPS = {
  /** The engine's group on the scores stream. */
  engine: "strata-engine",
  /** The companies projector's group on a lifecycle stream. */
  projector: "strata-projector",
  /** The backfill workers' group on a backfill stream. */
  workers: "strata-workers"
} as const

export const assertPrefix = (prefix: string): string => {
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`invalid key prefix "${prefix}": use 1-64 letters, digits, _ . -`)
  return prefix
}

export const ingressKeys = (prefix = "strata"): IngressKeys => {
  assertPrefix(prefix)
  return { scores: `${prefix}:scores`, scoresDead: `${prefix}:scores:dead` }
}

export const partitionKeys = (prefix: string, partition: number): PartitionKeys => {
  assertPrefix(prefix)
  if (!Number.isInteger(partition) || partition < 0 || partition > 16383) {
    throw new Error(`invalid partition ${partition}: an integer in [0, 16383]`)
  }
  const tag = `${prefix}:{${partition}}`
  return {
    partition,
    lifecycle: `${tag}:lifecycle`,
    lifecycleDead: `${tag}:lifecycle:dead`,
    backfill: `${tag}:backfill`,
    backfillDead: `${tag}:backfill:dead`,
    snapshots: `${tag}:snapshots`,
    stats: `${tag}:stats`,
    lease: `${tag}:lease`,
    leaseEpoch: `${tag}:lease:epoch`,
    step: `${tag}:step`,
    scoresArchived: `${tag}:scores:archived`
  }
}

/** The Cluster hash tag of a key: the text between the first `{` and the next `}`, if non-empty. */
export const hashTag = (key: string): string => {
  const open = key.indexOf("{")
  if (open < 0) return key
  const close = key.indexOf("}", open + 1)
  if (close <= open + 1) return key
  return key.slice(open + 1, close)
}
