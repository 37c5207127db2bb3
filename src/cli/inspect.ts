/**
 * `strata inspect SYMBOL`: everything the engine holds about one symbol, for an operator:
 * the actor (its persisted snapshot: layer and context), the companies row, recent layer
 * transitions, backfill commands still on the stream or in progress, coverage per series
 * and tier, and rows per tier (hot rows counted in PostgreSQL, cold rows and objects read
 * through the cold read path). Read-only. In a partitioned install the actor and the
 * backfill stream are read in the symbol's partition (streams/partition.ts).
 */
import { decodeActor, persistedLayer } from "../../machines/snapshot-codec.ts"
import { readLatest } from "../../streams/stream-read.ts"
import { fieldRecord } from "../../streams/entry.ts"
import { FINAL_STATUSES, PROGRESS_DDL, type Progress } from "../backfill/progress.ts"
import type { StorageKind } from "../domain/rows.ts"
import { isValidSymbol, normaliseSymbol } from "../domain/symbols.ts"
import { MAX_EVENT_MS } from "../domain/time.ts"
import { migrate, type Sql } from "../services/postgres.ts"
import type { Redis } from "../services/redis.ts"
import { STORAGE_DDL, countHot } from "../storage/index.ts"
import { coldKeys, readCold } from "../storage/cold-store.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { withConnections } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"

const ALL_TIME = { from: 0, to: MAX_EVENT_MS }
/** Backfill stream entries looked at, newest first: the stream is trimmed, so this is its tail. */
const STREAM_SCAN = 10_000

interface SeriesReport {
  readonly kind: string
  readonly interval: string
  readonly coverage: { readonly tier: string; readonly ranges: number; readonly from: number; readonly to: number; readonly days: number }[]
  readonly hotRows: number
  readonly coldRows: number
  readonly coldObjects: number
}

const actorOf = async (redis: Redis, snapshots: string, symbol: string) => {
  const text = await redis.hget(snapshots, symbol)
  if (text === null) return null
  const decoded = decodeActor(text)
  // Decoded whatever version stored it; an unreadable one is shown as stored, with why:
  // that is itself what the operator needs to see.
  const snapshot = decoded.ok
    ? { ...decoded.actor, format: decoded.format }
    : { unreadable: decoded.reason, stored: text }
  return { layer: persistedLayer(text) ?? null, snapshot }
}

const queuedCommands = async (redis: Redis, stream: string, symbol: string) =>
  (await readLatest(redis, stream, STREAM_SCAN))
    .map(({ id, fields }): Record<string, string> => ({ entry_id: id, ...fieldRecord(fields) }))
    .filter((c) => c["symbol"] === symbol)

const seriesOf = async (sql: Sql, store: ObjectStore, symbol: string): Promise<SeriesReport[]> => {
  const rows = await sql<{ kind: string; interval: string; tier: string; ranges: number; from: number; to: number; ms: number }[]>`
    SELECT kind, interval, tier, count(*)::int AS ranges, min(from_ms)::float8 AS from, max(to_ms)::float8 AS to, sum(to_ms - from_ms)::float8 AS ms
    FROM storage_coverage WHERE symbol = ${symbol} GROUP BY kind, interval, tier ORDER BY kind, interval, tier`
  const keys = [...new Set(rows.map((r) => `${r.kind}\u0000${r.interval}`))]
  return Promise.all(keys.map(async (key) => {
    const [kind, interval] = key.split("\u0000") as [StorageKind, string]
    const [hotRows, cold, objects] = await Promise.all([
      countHot(sql, kind, { symbol, interval }, ALL_TIME.from, ALL_TIME.to),
      readCold({ sql, store }, kind, symbol, interval, ALL_TIME.from, ALL_TIME.to),
      coldKeys({ sql, store }, kind, symbol, interval, ALL_TIME.from, ALL_TIME.to)
    ])
    const coverage = rows.filter((r) => r.kind === kind && r.interval === interval)
      .map((r) => ({ tier: r.tier, ranges: r.ranges, from: r.from, to: r.to, days: Math.round((r.ms / 86_400_000) * 10) / 10 }))
    return { kind, interval, coverage, hotRows, coldRows: cold.length, coldObjects: objects.length }
  }))
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const time = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")

export const inspectCommand = oneShot("inspect", async (input: string, opts: { config?: string; json?: boolean; limit?: string }): Promise<void> => {
  const symbol = normaliseSymbol(input)
  if (!isValidSymbol(symbol)) {
    process.stderr.write(`strata inspect: invalid symbol "${input}"\n`)
    process.exitCode = 2
    return
  }
  const limit = Math.max(1, Number(opts.limit) || 10)
  const config = configOrExit(opts.config)
  await withConnections(config, async (conn) => {
    const store = conn.store
    await migrate(conn.sql, config.postgres.schema, [...STORAGE_DDL, ...PROGRESS_DDL])
    const partition = symbolPartition(symbol, config.partitions)
    const keys = partitionKeys(config.redis.prefix, partition, config.partitions)
    const [actor, company, transitions, queued, progress, series] = await Promise.all([
      actorOf(conn.redis, keys.snapshots, symbol),
      conn.sql`SELECT * FROM companies WHERE symbol = ${symbol}`.then((r) => r[0] ?? null),
      conn.sql<{ type: string; from: number; to: number; at: number; cause: string }[]>`
        SELECT event_type AS type, from_layer::int AS "from", to_layer::int AS "to", at_ms::float8 AS at, cause
        FROM layer_transitions WHERE symbol = ${symbol} ORDER BY at_ms DESC, cause DESC LIMIT ${limit}`,
      queuedCommands(conn.redis, keys.backfill, symbol),
      conn.sql<Progress[]>`SELECT * FROM backfill_progress WHERE symbol = ${symbol} ORDER BY updated_at DESC LIMIT ${limit}`,
      seriesOf(conn.sql, store, symbol)
    ])
    const pending = progress.filter((p) => !FINAL_STATUSES.includes(p.status))
    // The partition is named only where there is a choice of partitions.
    const where = config.partitions === 1 ? {} : { partition }
    const report = { symbol, ...where, actor, company, transitions, backfill: { onStream: queued, pending, recent: progress }, series }
    const known = actor !== null || company !== null || transitions.length > 0 || queued.length > 0 || progress.length > 0 || series.length > 0
    if (!known) process.exitCode = 1
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`)
      return
    }
    if (!known) {
      process.stdout.write(`${symbol}: nothing held (no actor, no companies row, no transitions, no backfill, no data)\n`)
      return
    }
    const out: string[] = [config.partitions === 1 ? symbol : `${symbol}  partition ${partition} of ${config.partitions}`]
    out.push(actor ? `  actor  layer ${actor.layer ?? "?"}  snapshot ${JSON.stringify(actor.snapshot)}` : "  actor  none (never scored)")
    if (company) {
      const c = company as Record<string, unknown>
      out.push(`  companies  layer ${String(c["layer"])}  qualified L1 ${String(c["layer1_qualified"])} L2 ${String(c["layer2_qualified"])} L3 ${String(c["layer3_qualified"])}` +
        `  scores liquidity ${String(c["liquidity_score"])} catalyst ${String(c["catalyst_score"])} activity ${String(c["activity_score"])}`)
    }
    out.push(`transitions (latest ${transitions.length})`)
    for (const t of transitions) out.push(`  ${time(t.at)}  ${t.type}  L${t.from} → L${t.to}  cause ${t.cause}`)
    out.push(`backfill  ${queued.length} on the stream, ${pending.length} not finished`)
    for (const p of progress) {
      out.push(`  ${p.command_id}  L${p.layer}  ${p.status}  tasks ${p.done}/${p.planned}  written ${p.written}  requests ${p.requests}` +
        `${p.last_error && p.status !== "done" ? `  last error: ${p.last_error}` : ""}`)
    }
    out.push("series  (coverage by tier; rows hot | cold in objects)")
    for (const s of series) {
      const cov = s.coverage.map((c) => `${c.tier} ${day(c.from)}…${day(c.to - 1)} (${c.days} d, ${c.ranges} range${c.ranges === 1 ? "" : "s"})`).join("; ")
      out.push(`  ${s.kind}${s.interval ? ` ${s.interval}` : ""}  ${cov}  rows ${s.hotRows} | ${s.coldRows} in ${s.coldObjects}`)
    }
    process.stdout.write(`${out.join("\n")}\n`)
  })
})
