/**
 * The ingest loop of one partition: read a batch from the scores stream through the
 * engine's consumer group, run it through the actors (processBatch), and commit it with
 * the atomic step. After any failure the cache is dropped and the pending entries are
 * read again, which yields the same outputs exactly once.
 *
 * Every step is fenced by the partition lease: the loop reads nothing while this process
 * does not hold it (and never blocks past the moment its local view of the lease lapses),
 * and the step's guard refuses a step the lease does not cover (FENCED: the lease is
 * dropped, the loop waits for it) or one whose step marker is not the one this loop last
 * saw (STALE: Redis came back with other data; the cache is dropped and everything is read
 * back from Redis). A new epoch starts from Redis as well: snapshots, marker, pending list.
 * Does not own connections, signals or the lease's renewal: runtime.ts does.
 */
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { rulesFromConfig } from "./lifecycle-rules.ts"
import { createLifecycle, type Lifecycle } from "../../machines/lifecycle.ts"
import { scoreNames } from "../../machines/rules.ts"
import { applyBatch, readStepMarker, readStreamTime, stepRefusal } from "../../streams/atomic-step.ts"
import type { PartitionLease } from "../../streams/lease.ts"
import { GroupReader, ensureGroup } from "../../streams/consumer.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { scoresSymbol } from "../../streams/scores-wire.ts"
import { GROUPS, partitionScores, type IngressKeys, type PartitionKeys } from "../../streams/keys.ts"
import type { Logger } from "../services/logger.ts"
import { ActorStore } from "./actor-store.ts"
import { processBatch, snapshotArgs, type BatchContext } from "./batch.ts"
import { commitClock, newStreamClock, staleCandidates, type StreamClock } from "./stream-clock.ts"

export interface IngestStats {
  batches: number
  entries: number
  applied: number
  late: number
  dead: number
  transitions: number
  commands: number
  duplicates: number
  /** Steps refused because this process did not hold the lease. */
  fenced: number
  /** Steps refused because Redis held older (or other) data than this loop had seen. */
  reloads: number
  /** Stale events applied (lifecycle.stale_after). */
  stale: number
}

export class Ingest {
  /** The scores stream this partition reads and its dead letters (keys.ts partitionScores). */
  readonly ingress: IngressKeys
  readonly keys: PartitionKeys
  readonly lifecycle: Lifecycle
  readonly store: ActorStore
  readonly stats: IngestStats = { batches: 0, entries: 0, applied: 0, late: 0, dead: 0, transitions: 0, commands: 0, duplicates: 0, fenced: 0, reloads: 0, stale: 0 }
  private readonly reader: GroupReader
  private readonly ctx: BatchContext
  private readonly blockMs: number
  /** The epoch the cache belongs to; another one means the cache may be stale. */
  private epoch: string | undefined
  /** The step marker as of the last full apply; undefined: read it from Redis first. */
  private marker: string | undefined
  /** Stream time and staleness index as of the last applied step. */
  readonly clock: StreamClock
  /** False: the clock may not match Redis (start, new epoch, reload, duplicate); rebuild it first. */
  private clockInStep = false
  /** Called after each committed batch with its first (oldest) entry ID; metrics listen here. */
  readonly onCommit: ((oldestId: string) => void)[] = []

  constructor(
    reads: Redis,
    private readonly writes: Redis,
    config: Config,
    private readonly log: Logger,
    private readonly lease: PartitionLease
  ) {
    const partition = lease.keys.partition
    this.keys = lease.keys
    this.ingress = partitionScores(config.redis.prefix, this.keys)
    const rules = rulesFromConfig(config.lifecycle)
    this.lifecycle = createLifecycle(rules)
    this.store = new ActorStore(writes, this.keys.snapshots, this.lifecycle, config.ingest.snapshot_cache)
    this.blockMs = config.ingest.block_ms
    this.clock = newStreamClock(this.lifecycle)
    this.reader = new GroupReader(reads, this.ingress.scores, GROUPS.engine, `p${partition}`, config.ingest.batch_size, config.ingest.block_ms)
    this.ctx = {
      lifecycle: this.lifecycle,
      scoreNames: scoreNames(rules),
      retention: config.retention,
      limits: { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length },
      snapshotOf: (symbol) => this.store.get(symbol),
      clock: this.clock,
      ...(this.keys.count > 1 ? { partition: { partition, count: this.keys.count } } : {})
    }
  }

  async init(): Promise<void> {
    await ensureGroup(this.writes, this.ingress.scores, GROUPS.engine)
  }

  /** Read and apply one batch; returns the number of entries read (0 when idle). */
  async runOnce(): Promise<number> {
    // The read must end before the local view of the lease could lapse: a stale process
    // must not even move entries into the pending list.
    const fence = this.lease.held(this.blockMs)
    if (fence === undefined) {
      await new Promise((r) => setTimeout(r, Math.min(this.blockMs, 100)))
      return 0
    }
    if (fence.epoch !== this.epoch) this.restartFromRedis(fence.epoch)
    let entries
    try {
      entries = await this.reader.next()
      if (entries.length === 0) return 0
      this.marker ??= await readStepMarker(this.writes, this.keys)
      if (!this.clockInStep) await this.rebuildClock()
      // The actors the batch may find stale are loaded too, passivated or not.
      await this.store.load([...symbolsOf(entries), ...staleCandidates(entries, this.clock)])
      const out = processBatch(entries, this.ctx)
      const applied = await applyBatch(this.writes, this.ingress, this.keys, GROUPS.engine, {
        ids: out.ids,
        snaps: snapshotArgs(this.lifecycle, out.snapshots),
        lifecycle: out.lifecycle,
        backfill: out.backfill,
        dead: out.dead,
        stats: ["entries", out.ids.length, "applied", out.applied, "late", out.late, "dead", out.dead.length,
          "transitions", out.lifecycle.length, "commands", out.backfill.length, "stale", out.stale, "batches", 1],
        streamTime: out.streamTime,
        fence: { ...fence, step: this.marker }
      })
      if (applied === 0) {
        // Already applied by an earlier attempt whose reply was lost: our cache may be stale.
        this.stats.duplicates++
        this.store.clear()
        this.marker = undefined
        this.clockInStep = false
        return entries.length
      }
      this.marker = String(Number(this.marker) + 1)
      this.store.commit(out.snapshots)
      commitClock(this.clock, this.lifecycle, out.streamTime, out.snapshots)
      for (const listener of this.onCommit) listener(out.ids[0] as string)
      const s = this.stats
      s.batches++; s.entries += out.ids.length; s.applied += out.applied; s.late += out.late
      s.dead += out.dead.length; s.transitions += out.lifecycle.length; s.commands += out.backfill.length
      s.stale += out.stale
      return entries.length
    } catch (e) {
      this.store.clear()
      this.reader.rewind()
      this.marker = undefined
      const refusal = stepRefusal(e)
      if (refusal === "fenced") {
        this.stats.fenced++
        this.lease.lost()
        this.log.error({ partition: this.keys.partition, epoch: fence.epoch, err: (e as Error).message },
          "step FENCED: this process no longer holds the partition lease; nothing applied, ingest stopped until it holds it again")
        return 0
      }
      if (refusal === "stale") {
        this.stats.reloads++
        this.clockInStep = false
        this.log.error({ partition: this.keys.partition, err: (e as Error).message },
          "Redis holds older data than this engine applied (lost AOF tail or failover?): nothing applied; actors and pending entries are read back from Redis")
        return 0
      }
      this.log.warn({ err: e }, "ingest step failed; re-reading pending entries")
      throw e
    }
  }

  /** A new epoch: whatever the cache holds may predate another owner's steps. */
  private restartFromRedis(epoch: string): void {
    if (this.epoch !== undefined) this.log.info({ partition: this.keys.partition, epoch }, "new lease epoch: actors and pending entries are read back from Redis")
    this.epoch = epoch
    this.store.clear()
    this.reader.rewind()
    this.marker = undefined
    this.clockInStep = false
  }

  /**
   * The clock as Redis has it: the stream time the last step recorded, and the staleness
   * index rebuilt from every persisted actor (one HSCAN of the snapshots hash; deadlines
   * only, no actor is cached).
   */
  private async rebuildClock(): Promise<void> {
    this.clock.streamTime = await readStreamTime(this.writes, this.keys)
    const index = this.clock.index
    if (index !== undefined) {
      index.clear()
      const started = performance.now()
      const actors = await this.store.scan((symbol, persisted) => index.set(symbol, this.lifecycle.staleDeadline(persisted)))
      this.log.info({ partition: this.keys.partition, actors, indexed: index.size, ms: Math.round(performance.now() - started) },
        "staleness index rebuilt from the snapshots")
    }
    this.clockInStep = true
  }
}

/** Symbols of the entries, as the decoder will see them (cheap pre-pass for the snapshot read). */
const symbolsOf = (entries: readonly StreamEntry[]): string[] => {
  const out: string[] = []
  for (const e of entries) {
    const s = scoresSymbol(e.fields)
    if (s !== undefined) out.push(s)
  }
  return out
}
