/**
 * The companies projector: consumes a partition's lifecycle stream through its own group
 * and writes `companies` and `layer_transitions` in one transaction per batch, then XACKs.
 * Idempotent and monotonic: a redelivered or older event never moves a row backwards
 * (the guard compares event time, then the cause's entry ID), and a transition row is
 * keyed by (symbol, cause). An entry that does not decode (written by hand: a layer 9, an
 * event time in the year 5000, a cause that is no entry ID) goes to the lifecycle
 * dead-letter stream with its reason, acknowledged with its batch: one bad entry never
 * stops the projection.
 */
import type { Redis } from "ioredis"
import type { Sql } from "../services/postgres.ts"
import type { Logger } from "../services/logger.ts"
import { GroupReader, ensureGroup } from "../../streams/consumer.ts"
import { deadLetterFields } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, type PartitionKeys } from "../../streams/keys.ts"
import { causeEntryId, decodeLifecycleEntry, type LifecycleEvent } from "../../streams/lifecycle-wire.ts"

/** A decoded lifecycle event, as the projector writes it. */
export type LifecycleRow = LifecycleEvent

// A stale demotion's cause carries the entry ID that moved the stream time: order by it.
const idParts = (cause: string): [string, string] => {
  const [ms = "0", seq = "0"] = causeEntryId(cause).split("-")
  return [ms, seq]
}

/** Write a batch of lifecycle events in one transaction. */
export const projectBatch = async (sql: Sql, rows: readonly LifecycleRow[]): Promise<void> => {
  if (rows.length === 0) return
  // One companies row per symbol: its last event in the batch decides the row, and each
  // layer's *_updated is the time of the batch's last event that changed that layer's
  // qualification. History (layer_transitions) keeps every event.
  const bySymbol = new Map<string, Record<string, unknown>>()
  for (const r of rows) {
    const prev = bySymbol.get(r.symbol)
    const [idMs, idSeq] = idParts(r.cause)
    const at = new Date(r.at)
    const changed = (k: number) => (r.from >= k) !== (r.to >= k)
    bySymbol.set(r.symbol, {
      symbol: r.symbol, layer: r.to,
      layer1_qualified: r.to >= 1, layer2_qualified: r.to >= 2, layer3_qualified: r.to >= 3,
      liquidity_score: r.scores["liquidity"] ?? null, catalyst_score: r.scores["catalyst"] ?? null, activity_score: r.scores["activity"] ?? null,
      layer1_updated: changed(1) ? at : prev?.["layer1_updated"] ?? null,
      layer2_updated: changed(2) ? at : prev?.["layer2_updated"] ?? null,
      layer3_updated: changed(3) ? at : prev?.["layer3_updated"] ?? null,
      last_event_type: r.type, last_event_at: at, last_event_ms: r.at, last_event_id: r.cause,
      last_event_id_ms: idMs, last_event_id_seq: idSeq
    })
  }
  await sql.begin(async (tx) => {
    await tx`
      INSERT INTO layer_transitions ${tx(rows.map((r) => ({
        symbol: r.symbol, cause: r.cause, event_type: r.type, from_layer: r.from, to_layer: r.to,
        at: new Date(r.at), at_ms: r.at, scores: JSON.stringify(r.scores)
      })))}
      ON CONFLICT (symbol, cause) DO NOTHING`
    await tx`
      INSERT INTO companies ${tx([...bySymbol.values()])}
      ON CONFLICT (symbol) DO UPDATE SET
        layer = excluded.layer,
        layer1_qualified = excluded.layer1_qualified,
        layer2_qualified = excluded.layer2_qualified,
        layer3_qualified = excluded.layer3_qualified,
        liquidity_score = coalesce(excluded.liquidity_score, companies.liquidity_score),
        catalyst_score = coalesce(excluded.catalyst_score, companies.catalyst_score),
        activity_score = coalesce(excluded.activity_score, companies.activity_score),
        layer1_updated = coalesce(excluded.layer1_updated, companies.layer1_updated),
        layer2_updated = coalesce(excluded.layer2_updated, companies.layer2_updated),
        layer3_updated = coalesce(excluded.layer3_updated, companies.layer3_updated),
        last_event_type = excluded.last_event_type,
        last_event_at = excluded.last_event_at,
        last_event_ms = excluded.last_event_ms,
        last_event_id = excluded.last_event_id,
        last_event_id_ms = excluded.last_event_id_ms,
        last_event_id_seq = excluded.last_event_id_seq,
        updated_at = now()
      WHERE (companies.last_event_ms, companies.last_event_id_ms, companies.last_event_id_seq)
          < (excluded.last_event_ms, excluded.last_event_id_ms, excluded.last_event_id_seq)
         OR companies.last_event_ms IS NULL`
  })
}

export class Projector {
  private readonly reader: GroupReader
  private stopping = false
  projected = 0
  deadLettered = 0

  constructor(
    private readonly redis: Redis,
    private readonly sql: Sql,
    private readonly keys: Pick<PartitionKeys, "lifecycle" | "lifecycleDead">,
    private readonly log: Logger,
    batchSize: number,
    blockMs: number,
    consumer = "projector"
  ) {
    this.reader = new GroupReader(redis, keys.lifecycle, GROUPS.projector, consumer, batchSize, blockMs)
  }

  async init(): Promise<void> {
    await ensureGroup(this.redis, this.keys.lifecycle, GROUPS.projector)
  }

  /**
   * Called before the projector's connection closes (its partition given up): a step cut
   * short from then on is the projector's end, not a failure. Its entries stay pending in
   * the group for the partition's next holder.
   */
  stop(): void {
    this.stopping = true
  }

  async runOnce(): Promise<number> {
    if (this.stopping) return 0
    try {
      const entries = await this.reader.next()
      if (entries.length === 0) return 0
      const rows: LifecycleRow[] = []
      const rejected: { readonly entry: StreamEntry; readonly reason: string }[] = []
      for (const e of entries) {
        const decoded = decodeLifecycleEntry(e)
        if (decoded.ok) rows.push(decoded.event)
        else {
          rejected.push({ entry: e, reason: decoded.reason })
          this.log.warn({ id: e.id, reason: decoded.reason }, "undecodable lifecycle entry dead-lettered")
        }
      }
      await projectBatch(this.sql, rows)
      // Dead letters and the acknowledgement in one MULTI: a batch re-read after a failure
      // (its rows are idempotent) writes its dead letters once.
      const tx = this.redis.multi()
      for (const r of rejected) tx.xadd(this.keys.lifecycleDead, "*", ...deadLetterFields(r.entry, r.reason))
      tx.xack(this.keys.lifecycle, GROUPS.projector, ...entries.map((e) => e.id))
      for (const [err] of (await tx.exec()) ?? []) if (err) throw err
      this.projected += rows.length
      this.deadLettered += rejected.length
      return entries.length
    } catch (e) {
      if (this.stopping) {
        this.log.debug({ reason: e instanceof Error ? e.message : String(e) }, "projector stopped with its partition; the step in flight ended with its connection, its entries stay pending for the next holder")
        return 0
      }
      this.log.warn({ err: e }, "projector step failed; re-reading pending entries")
      this.reader.rewind()
      throw e
    }
  }
}
