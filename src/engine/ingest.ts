/**
 * The ingest loop of one partition: read a batch from the scores stream (and, in a
 * partitioned install, the partition's direct stream: keys.ts partitionInputs) through the
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
 *
 * With `ingest.overlap` the next batch is read and computed while a step is in flight,
 * from the state that step commits; it is stepped only after that step's reply, and
 * discarded (its entries read again, the state read back from Redis) if the step was not
 * applied. So steps, their order and what each applies are the same as without overlap.
 * Does not own connections, signals or the lease's renewal: runtime.ts does.
 */
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { rulesFromConfig } from "./lifecycle-rules.ts"
import { createLifecycle, type Lifecycle } from "../../machines/lifecycle.ts"
import { scoreNames } from "../../machines/rules.ts"
import { applyBatch, readStepMarker, readStreamTime, stepRefusal } from "../../streams/atomic-step.ts"
import type { LeaseHolder, PartitionLease } from "../../streams/lease.ts"
import { GroupReader, ensureGroup, type SourcedEntry } from "../../streams/consumer.ts"
import { scoresSymbol } from "../../streams/scores-wire.ts"
import { GROUPS, partitionInputs, partitionScores, type IngressKeys, type PartitionKeys } from "../../streams/keys.ts"
import type { Logger } from "../services/logger.ts"
import { ActorStore } from "./actor-store.ts"
import { processBatch, snapshotArgs, type BatchContext, type BatchOutputs } from "./batch.ts"
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
  /** Batches read ahead (ingest.overlap) and dropped because the step before them was not applied. */
  discarded: number
}

/** A batch read and computed, not yet stepped: its entries, outputs and the lease it was read under. */
interface Prepared {
  readonly entries: readonly SourcedEntry[]
  readonly out: BatchOutputs
  readonly fence: LeaseHolder
}

/** One read of the scores stream and the lease it was made under. */
interface Read {
  readonly entries: readonly SourcedEntry[]
  readonly fence: LeaseHolder
}

/** Work done ahead, its outcome kept as a value: nobody may be left with an unhandled rejection. */
type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown }

const settle = <T>(work: Promise<T>): Promise<Settled<T>> =>
  work.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))

export class Ingest {
  /** The scores stream this partition reads and its dead letters (keys.ts partitionScores). */
  readonly ingress: IngressKeys
  /** Every stream read through the engine's group: `ingress.scores`, then the direct stream if any. */
  readonly inputs: readonly string[]
  readonly keys: PartitionKeys
  readonly lifecycle: Lifecycle
  readonly store: ActorStore
  readonly stats: IngestStats = { batches: 0, entries: 0, applied: 0, late: 0, dead: 0, transitions: 0, commands: 0, duplicates: 0, fenced: 0, reloads: 0, stale: 0, discarded: 0 }
  private readonly reader: GroupReader
  private readonly ctx: BatchContext
  private readonly blockMs: number
  /** ingest.overlap: read and compute the next batch while a step is in flight. */
  private readonly overlap: boolean
  /** The next batch, read and computed while the last step ran (overlap only). */
  private ahead: Promise<Settled<Prepared | undefined>> | undefined
  /**
   * The next read, issued as soon as the last one returned (overlap only), so that Redis
   * serves it while the batch before is computed and its step sent, not after the step.
   */
  private nextRead: Promise<Settled<Read | undefined>> | undefined
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
    this.inputs = partitionInputs(config.redis.prefix, this.keys)
    const rules = rulesFromConfig(config.lifecycle)
    this.lifecycle = createLifecycle(rules, config.ingest.step)
    this.store = new ActorStore(writes, this.keys.snapshots, this.lifecycle, config.ingest.snapshot_cache)
    this.blockMs = config.ingest.block_ms
    this.overlap = config.ingest.overlap
    this.clock = newStreamClock(this.lifecycle)
    this.reader = new GroupReader(reads, this.inputs, GROUPS.engine, `p${partition}`, config.ingest.batch_size, config.ingest.block_ms)
    this.ctx = {
      lifecycle: this.lifecycle,
      scoreNames: scoreNames(rules),
      retention: config.retention,
      limits: { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length },
      snapshotOf: (symbol) => this.store.get(symbol),
      refusedSnapshot: (symbol) => this.store.refused(symbol),
      clock: this.clock,
      ...(this.keys.count > 1 ? { partition: { partition, count: this.keys.count } } : {})
    }
  }

  async init(): Promise<void> {
    for (const stream of this.inputs) await ensureGroup(this.writes, stream, GROUPS.engine)
  }

  /**
   * Apply one batch; returns the number of entries read (0 when idle). With
   * `ingest.overlap` the next batch is read and computed while this one's step runs
   * (see `step`), and the next call steps it.
   */
  async runOnce(): Promise<number> {
    const batch = await this.nextBatch()
    return batch === undefined ? 0 : this.step(batch)
  }

  /** The batch read ahead during the last step, or a fresh one. */
  private async nextBatch(): Promise<Prepared | undefined> {
    const ahead = this.ahead
    this.ahead = undefined
    if (ahead === undefined) return this.prepare(false)
    const done = await ahead
    // The step before it was applied, so the cache and the clock are Redis' state.
    if (done.ok) return done.value
    return this.readFailed(done.error)
  }

  /**
   * Read a batch and compute it against the cache and the clock. `speculative`: a step is
   * in flight, and this batch starts from the state that step will commit; it reads
   * nothing rather than wait for, or restart on, a lease it does not hold as that step did.
   */
  private async prepare(speculative: boolean): Promise<Prepared | undefined> {
    const read = await this.takeRead(speculative)
    if (read === undefined) return undefined
    const { entries, fence } = read
    try {
      this.marker ??= await readStepMarker(this.writes, this.keys)
      if (!this.clockInStep) await this.rebuildClock()
      // The actors the batch may find stale are loaded too, passivated or not.
      await this.store.load([...symbolsOf(entries), ...staleCandidates(entries, this.clock)])
      return { entries, out: processBatch(entries, this.ctx), fence }
    } catch (e) {
      if (speculative) throw e
      return this.readFailed(e)
    }
  }

  /** The read issued ahead, or a fresh one; with overlap, the next read goes out at once. */
  private async takeRead(speculative: boolean): Promise<Read | undefined> {
    let read: Read | undefined
    const ahead = this.nextRead
    this.nextRead = undefined
    if (ahead !== undefined) {
      const done = await ahead
      if (!done.ok) {
        if (speculative) throw done.error
        return this.readFailed(done.error)
      }
      read = done.value
    } else {
      // The read must end before the local view of the lease could lapse: a stale process
      // must not even move entries into the pending list.
      const fence = this.lease.held(this.blockMs)
      if (fence === undefined) {
        if (!speculative) await new Promise((r) => setTimeout(r, Math.min(this.blockMs, 100)))
        return undefined
      }
      if (fence.epoch !== this.epoch) {
        if (speculative) return undefined
        this.restartFromRedis(fence.epoch)
      }
      try {
        read = { entries: await this.reader.next(), fence }
      } catch (e) {
        if (speculative) throw e
        return this.readFailed(e)
      }
    }
    if (read === undefined || read.entries.length === 0) return undefined
    if (this.overlap) this.nextRead = settle(this.readAhead(read.fence.epoch))
    return read
  }

  /** The next read, under the same lease epoch held for as long as the read may block. */
  private async readAhead(epoch: string): Promise<Read | undefined> {
    const fence = this.lease.held(this.blockMs)
    if (fence === undefined || fence.epoch !== epoch) return undefined
    return { entries: await this.reader.next(), fence }
  }

  /**
   * Send the batch's atomic step and wait for its reply; one step is in flight at a time.
   *
   * With overlap, the batch's actors and stream time go into the cache and the clock as
   * soon as the step is sent (they are known once the batch is computed), and the next
   * batch is read and computed from them meanwhile. Nothing of it reaches Redis before
   * this step's reply: the next call sends its step, fenced by the marker this one bumps.
   * If this step is not applied (failed, FENCED, STALE, duplicate), the batch read ahead
   * is discarded once its read has ended, its entries stay pending and are read again, and
   * the cache and clock are read back from Redis: nothing computed from the refused step
   * survives. A batch that changes more actors than the cache holds is not overlapped:
   * the next batch would read some of them back from Redis instead of the cache.
   */
  private async step(batch: Prepared): Promise<number> {
    const { entries, out, fence } = batch
    const stepFence = { ...fence, step: this.marker as string }
    // Each entry is acknowledged on the stream it came from (out.ids are the entries' IDs, in order).
    const direct = entries.filter((e) => e.stream !== this.ingress.scores).map((e) => e.id)
    const applying = applyBatch(this.writes, this.ingress, this.keys, GROUPS.engine, {
      ids: direct.length === 0 ? out.ids : entries.filter((e) => e.stream === this.ingress.scores).map((e) => e.id),
      directIds: direct,
      snaps: snapshotArgs(out.snapshots),
      lifecycle: out.lifecycle,
      backfill: out.backfill,
      dead: out.dead,
      stats: ["entries", out.ids.length, "applied", out.applied, "late", out.late, "dead", out.dead.length,
        "transitions", out.lifecycle.length, "commands", out.backfill.length, "stale", out.stale, "batches", 1],
      streamTime: out.streamTime,
      fence: stepFence
    })
    const overlapped = this.overlap && out.snapshots.size <= this.store.capacity
    if (overlapped) {
      this.advance(out)
      this.ahead = settle(this.prepare(true))
    }
    let applied: number
    try {
      applied = await applying
    } catch (e) {
      await this.discardAhead()
      return this.stepFailed(e, fence, overlapped)
    }
    if (applied === 0) {
      // Already applied by an earlier attempt whose reply was lost: our cache may be stale.
      if (await this.discardAhead()) this.reader.rewind()
      this.stats.duplicates++
      this.store.clear()
      this.marker = undefined
      this.clockInStep = false
      return entries.length
    }
    this.marker = String(Number(this.marker) + 1)
    if (!overlapped) this.advance(out)
    for (const listener of this.onCommit) listener(out.ids[0] as string)
    const s = this.stats
    s.batches++; s.entries += out.ids.length; s.applied += out.applied; s.late += out.late
    s.dead += out.dead.length; s.transitions += out.lifecycle.length; s.commands += out.backfill.length
    s.stale += out.stale
    return entries.length
  }

  /** The cache and the clock move to the batch's state. */
  private advance(out: BatchOutputs): void {
    this.store.commit(out.snapshots)
    commitClock(this.clock, this.lifecycle, out.streamTime, out.snapshots)
  }

  /**
   * Drop what was read and computed ahead once it has ended (a read still in flight would
   * move the reader past the rewind). Returns whether there was any; its entries are
   * pending and the caller rewinds the reader.
   */
  private async discardAhead(): Promise<boolean> {
    const ahead = this.ahead
    this.ahead = undefined
    let any = false
    if (ahead !== undefined) {
      const done = await ahead
      any = true
      this.stats.discarded++
      if (!done.ok) this.log.warn({ err: done.error }, "ingest batch read ahead failed; it is discarded and its entries read again")
    }
    // The batch computed ahead may itself have issued the read after it.
    const read = this.nextRead
    this.nextRead = undefined
    if (read !== undefined) {
      const done = await read
      any = true
      if (!done.ok) this.log.warn({ err: done.error }, "ingest read ahead failed; it is discarded and its entries read again")
    }
    return any
  }

  /** A read, snapshot load or marker read failed: start again from the pending entries. */
  private async readFailed(e: unknown): Promise<never> {
    await this.discardAhead()
    this.store.clear()
    this.reader.rewind()
    this.marker = undefined
    this.log.warn({ err: e }, "ingest step failed; re-reading pending entries")
    throw e
  }

  /**
   * The step was not applied, or its reply was lost. `advanced`: the cache and the clock
   * already hold the batch (overlap), so the clock is read back from Redis too.
   */
  private stepFailed(e: unknown, fence: LeaseHolder, advanced: boolean): number {
    this.store.clear()
    this.reader.rewind()
    this.marker = undefined
    if (advanced) this.clockInStep = false
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
      const { actors, refused } = await this.store.scan((symbol, persisted) => index.set(symbol, this.lifecycle.staleDeadline(persisted)))
      this.log.info({ partition: this.keys.partition, actors, indexed: index.size, ms: Math.round(performance.now() - started) },
        "staleness index rebuilt from the snapshots")
      if (refused > 0) {
        this.log.warn({ partition: this.keys.partition, refused },
          "stored snapshots that cannot be read are left out of the staleness index; their symbols' entries are dead-lettered until they are repaired or deleted")
      }
    }
    this.clockInStep = true
  }
}

/** Symbols of the entries, as the decoder will see them (cheap pre-pass for the snapshot read). */
const symbolsOf = (entries: readonly SourcedEntry[]): string[] => {
  const out: string[] = []
  for (const e of entries) {
    const s = scoresSymbol(e.fields)
    if (s !== undefined) out.push(s)
  }
  return out
}
