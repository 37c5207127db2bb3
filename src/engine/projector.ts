/**
 * The companies projector: consumes a partition's lifecycle stream through its own group
 * and writes `companies` and `layer_transitions` in one transaction per batch, then XACKs.
 * Idempotent and monotonic: a redelivered or older event never moves a row backwards
 * (the guard compares event time, then the cause's entry ID), and a transition row is
 * keyed by (symbol, cause).
 */
import type { Redis } from "ioredis"
import type { Sql } from "../services/postgres.ts"
import type { Logger } from "../services/logger.ts"
import { GroupReader, ensureGroup, type Entry } from "../../streams/consumer.ts"
import { GROUPS } from "../../streams/keys.ts"

export interface LifecycleRow {
  readonly type: string
  readonly symbol: string
  readonly from: number
  readonly to: number
  readonly at: number
  readonly cause: string
  readonly scores: Record<string, number>
}

const CONTRACT_FIELDS = new Set(["type", "symbol", "from", "to", "at", "cause"])

export const parseLifecycleEntry = (e: Entry): LifecycleRow | undefined => {
  const f: Record<string, string> = {}
  for (let i = 0; i + 1 < e.fields.length; i += 2) f[e.fields[i] as string] = e.fields[i + 1] as string
  const from = Number(f["from"]), to = Number(f["to"]), at = Number(f["at"])
  if (!f["type"] || !f["symbol"] || !f["cause"] || ![from, to, at].every(Number.isInteger)) return undefined
  const scores: Record<string, number> = {}
  for (const [k, v] of Object.entries(f)) if (!CONTRACT_FIELDS.has(k) && Number.isFinite(Number(v))) scores[k] = Number(v)
  return { type: f["type"], symbol: f["symbol"], from, to, at, cause: f["cause"], scores }
}

const idParts = (id: string): [string, string] => {
  const [ms = "0", seq = "0"] = id.split("-")
  return [ms, seq]
}

/** Write a batch of lifecycle events in one transaction. */
export const projectBatch = async (sql: Sql, rows: readonly LifecycleRow[]): Promise<void> => {
  if (rows.length === 0) return
  // Within a batch only the last event of a symbol decides its row; history keeps them all.
  const last = new Map<string, LifecycleRow>()
  for (const r of rows) last.set(r.symbol, r)
  await sql.begin(async (tx) => {
    await tx`
      INSERT INTO layer_transitions ${tx(rows.map((r) => ({
        symbol: r.symbol, cause: r.cause, event_type: r.type, from_layer: r.from, to_layer: r.to,
        at: new Date(r.at), at_ms: r.at, scores: JSON.stringify(r.scores)
      })))}
      ON CONFLICT (symbol, cause) DO NOTHING`
    const values = [...last.values()].map((r) => {
      const [idMs, idSeq] = idParts(r.cause)
      return {
        symbol: r.symbol, layer: r.to,
        l1: r.to >= 1, l2: r.to >= 2, l3: r.to >= 3,
        liquidity: r.scores["liquidity"] ?? null, catalyst: r.scores["catalyst"] ?? null, activity: r.scores["activity"] ?? null,
        at: new Date(r.at), at_ms: r.at, type: r.type, cause: r.cause, id_ms: idMs, id_seq: idSeq,
        // A layer's *_updated marks when its qualification last changed.
        l1_changed: (r.from >= 1) !== (r.to >= 1), l2_changed: (r.from >= 2) !== (r.to >= 2), l3_changed: (r.from >= 3) !== (r.to >= 3)
      }
    })
    for (const v of values) {
      await tx`
        INSERT INTO companies AS c (symbol, layer, layer1_qualified, layer2_qualified, layer3_qualified,
          liquidity_score, catalyst_score, activity_score, layer1_updated, layer2_updated, layer3_updated,
          last_event_type, last_event_at, last_event_ms, last_event_id, last_event_id_ms, last_event_id_seq, updated_at)
        VALUES (${v.symbol}, ${v.layer}, ${v.l1}, ${v.l2}, ${v.l3}, ${v.liquidity}, ${v.catalyst}, ${v.activity},
          ${v.l1_changed ? v.at : null}, ${v.l2_changed ? v.at : null}, ${v.l3_changed ? v.at : null},
          ${v.type}, ${v.at}, ${v.at_ms}, ${v.cause}, ${v.id_ms}, ${v.id_seq}, now())
        ON CONFLICT (symbol) DO UPDATE SET
          layer = excluded.layer,
          layer1_qualified = excluded.layer1_qualified,
          layer2_qualified = excluded.layer2_qualified,
          layer3_qualified = excluded.layer3_qualified,
          liquidity_score = coalesce(excluded.liquidity_score, c.liquidity_score),
          catalyst_score = coalesce(excluded.catalyst_score, c.catalyst_score),
          activity_score = coalesce(excluded.activity_score, c.activity_score),
          layer1_updated = coalesce(excluded.layer1_updated, c.layer1_updated),
          layer2_updated = coalesce(excluded.layer2_updated, c.layer2_updated),
          layer3_updated = coalesce(excluded.layer3_updated, c.layer3_updated),
          last_event_type = excluded.last_event_type,
          last_event_at = excluded.last_event_at,
          last_event_ms = excluded.last_event_ms,
          last_event_id = excluded.last_event_id,
          last_event_id_ms = excluded.last_event_id_ms,
          last_event_id_seq = excluded.last_event_id_seq,
          updated_at = now()
        WHERE (c.last_event_ms, c.last_event_id_ms, c.last_event_id_seq)
            < (excluded.last_event_ms, excluded.last_event_id_ms, excluded.last_event_id_seq)
           OR c.last_event_ms IS NULL`
    }
  })
}

export class Projector {
  private readonly reader: GroupReader
  projected = 0

  constructor(
    private readonly redis: Redis,
    private readonly sql: Sql,
    private readonly lifecycleStream: string,
    private readonly log: Logger,
    batchSize: number,
    blockMs: number,
    consumer = "projector"
  ) {
    this.reader = new GroupReader(redis, lifecycleStream, GROUPS.projector, consumer, batchSize, blockMs)
  }

  async init(): Promise<void> {
    await ensureGroup(this.redis, this.lifecycleStream, GROUPS.projector)
  }

  async runOnce(): Promise<number> {
    try {
      const entries = await this.reader.next()
      if (entries.length === 0) return 0
      const rows: LifecycleRow[] = []
      for (const e of entries) {
        const row = parseLifecycleEntry(e)
        if (row) rows.push(row)
        else this.log.error({ id: e.id, fields: e.fields }, "malformed lifecycle entry skipped")
      }
      await projectBatch(this.sql, rows)
      await this.redis.xack(this.lifecycleStream, GROUPS.projector, ...entries.map((e) => e.id))
      this.projected += rows.length
      return entries.length
    } catch (e) {
      this.log.warn({ err: e }, "projector step failed; re-reading pending entries")
      this.reader.rewind()
      throw e
    }
  }
}
