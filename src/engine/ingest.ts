/**
 * The ingest loop of one partition: read a batch from the scores stream through the
 * engine's consumer group, run it through the actors (processBatch), and commit it with
 * the atomic step. After any failure the cache is dropped and the pending entries are
 * read again, which yields the same outputs exactly once.
 * Does not own connections or signals: runtime.ts does.
 */
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { rulesFromConfig } from "../../machines/from-config.ts"
import { createLifecycle, type Lifecycle } from "../../machines/lifecycle.ts"
import { scoreNames } from "../../machines/rules.ts"
import { applyBatch } from "../../streams/atomic-step.ts"
import { GroupReader, ensureGroup } from "../../streams/consumer.ts"
import { fieldValue, type StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys, type IngressKeys, type PartitionKeys } from "../../streams/keys.ts"
import { isValidSymbol, normaliseSymbol } from "../domain/symbols.ts"
import type { Logger } from "../services/logger.ts"
import { ActorStore } from "./actor-store.ts"
import { processBatch, snapshotArgs, type BatchContext } from "./batch.ts"

export interface IngestStats {
  batches: number
  entries: number
  applied: number
  late: number
  dead: number
  transitions: number
  commands: number
  duplicates: number
}

export class Ingest {
  readonly ingress: IngressKeys
  readonly keys: PartitionKeys
  readonly lifecycle: Lifecycle
  readonly store: ActorStore
  readonly stats: IngestStats = { batches: 0, entries: 0, applied: 0, late: 0, dead: 0, transitions: 0, commands: 0, duplicates: 0 }
  private readonly reader: GroupReader
  private readonly ctx: BatchContext
  /** Called after each committed batch with its first (oldest) entry ID; metrics listen here. */
  readonly onCommit: ((oldestId: string) => void)[] = []

  constructor(
    reads: Redis,
    private readonly writes: Redis,
    config: Config,
    private readonly log: Logger,
    partition = 0
  ) {
    this.ingress = ingressKeys(config.redis.prefix)
    this.keys = partitionKeys(config.redis.prefix, partition)
    const rules = rulesFromConfig(config.lifecycle)
    this.lifecycle = createLifecycle(rules)
    this.store = new ActorStore(writes, this.keys.snapshots, this.lifecycle, config.ingest.snapshot_cache)
    this.reader = new GroupReader(reads, this.ingress.scores, GROUPS.engine, `p${partition}`, config.ingest.batch_size, config.ingest.block_ms)
    this.ctx = {
      lifecycle: this.lifecycle,
      scoreNames: scoreNames(rules),
      retention: config.retention,
      limits: { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length },
      snapshotOf: (symbol) => this.store.get(symbol)
    }
  }

  async init(): Promise<void> {
    await ensureGroup(this.writes, this.ingress.scores, GROUPS.engine)
  }

  /** Read and apply one batch; returns the number of entries read (0 when idle). */
  async runOnce(): Promise<number> {
    let entries
    try {
      entries = await this.reader.next()
      if (entries.length === 0) return 0
      await this.store.load(symbolsOf(entries))
      const out = processBatch(entries, this.ctx)
      const applied = await applyBatch(this.writes, this.ingress, this.keys, GROUPS.engine, {
        ids: out.ids,
        snaps: snapshotArgs(this.lifecycle, out.snapshots),
        lifecycle: out.lifecycle,
        backfill: out.backfill,
        dead: out.dead,
        stats: ["entries", out.ids.length, "applied", out.applied, "late", out.late, "dead", out.dead.length,
          "transitions", out.lifecycle.length, "commands", out.backfill.length, "batches", 1]
      })
      if (applied === 0) {
        // Already applied by an earlier attempt whose reply was lost: our cache may be stale.
        this.stats.duplicates++
        this.store.clear()
        return entries.length
      }
      this.store.commit(out.snapshots)
      for (const listener of this.onCommit) listener(out.ids[0] as string)
      const s = this.stats
      s.batches++; s.entries += out.ids.length; s.applied += out.applied; s.late += out.late
      s.dead += out.dead.length; s.transitions += out.lifecycle.length; s.commands += out.backfill.length
      return entries.length
    } catch (e) {
      this.log.warn({ err: e }, "ingest step failed; re-reading pending entries")
      this.store.clear()
      this.reader.rewind()
      throw e
    }
  }
}

/** Symbols of the entries, as the decoder will see them (cheap pre-pass for the snapshot read). */
const symbolsOf = (entries: readonly StreamEntry[]): string[] => {
  const out: string[] = []
  for (const e of entries) {
    const s = normaliseSymbol(fieldValue(e.fields, "symbol") ?? "")
    if (isValidSymbol(s)) out.push(s)
  }
  return out
}
