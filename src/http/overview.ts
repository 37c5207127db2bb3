/**
 * What the dashboard and `GET /api/overview` show as current figures, gathered in one
 * read: symbols per layer and their change over the sampler's window, recent transitions,
 * the backfill queue (per-command progress, ETA, failures), consumer-group backlogs, the
 * partition and its consumer, the persisted ingest counters next to this process's own,
 * the latest commit latency, and every engine-owned stream's figures (length, oldest entry
 * age, archive lag, last trim, dead letters dropped). Read only; every figure comes from Redis, PostgreSQL,
 * the process's own counters or the sampler.
 */
import type { Redis } from "ioredis"
import type { Sql } from "../services/postgres.ts"
import { consumersOf } from "../../streams/consumer.ts"
import { GROUPS } from "../../streams/keys.ts"
import { allStreamFigures, type StreamFigures, type TrimPlan } from "../../streams/trim.ts"
import type { Ingest } from "../engine/ingest.ts"
import type { Projector } from "../engine/projector.ts"
import { backlogs, layerCounts, tableExists } from "./figures.ts"
import type { Sampler } from "./sampler.ts"

export interface QueuedCommand {
  readonly command_id: string
  readonly symbol: string
  readonly layer: number
  readonly status: string
  readonly planned: number
  readonly done: number
  readonly written: number
  readonly failed: number
  readonly last_error: string | null
  /** ms since the epoch, or null before a worker started it. */
  readonly started: number | null
  readonly updated: number
  /** Expected ms until done at the command's pace so far; null when unknown. */
  readonly etaMs: number | null
}

export interface Overview {
  readonly now: number
  readonly layers: Record<"0" | "1" | "2" | "3", number>
  /** Change of each layer's count over the sampled window (null before two samples). */
  readonly layerChange: Record<"0" | "1" | "2" | "3", number> | null
  /** Time of the oldest sample the change is measured from. */
  readonly layerChangeSince: number | null
  readonly windowMs: number
  readonly actors: number
  readonly transitions: readonly { symbol: string; type: string; from: number; to: number; at: number }[]
  readonly backfill: { readonly byStatus: Record<string, number>; readonly queue: readonly QueuedCommand[] }
  readonly backlog: Record<string, number | null>
  readonly partitions: readonly { partition: number; consumer: string | null; idleMs: number | null; lease: string | null }[]
  /** Counters of this process since it started at `processStartedAt`. */
  readonly ingest: Ingest["stats"]
  readonly processStartedAt: number
  /** The partition's persisted counters (the stats hash): they survive restarts. */
  readonly persisted: Record<string, number>
  readonly projected: number
  /** Commit latency of the last sampled interval; null when no batch committed (idle). */
  readonly latencyMs: { readonly p50: number | null; readonly p99: number | null }
  /** Per engine-owned stream; oldest entry age is Redis TIME minus the entry ID's time. Empty without a plan. */
  readonly streams: readonly StreamFigures[]
}

export interface OverviewDeps {
  readonly redis: Redis
  readonly sql: Sql
  readonly ingest: Ingest
  readonly projector: Projector
  readonly sampler: Sampler
  readonly processStartedAt: number
  readonly clock?: () => number
  /** The streams the engine trims (streams/trim-plan.ts), for their figures. */
  readonly streams?: TrimPlan
}

/** Remaining time at the pace so far: elapsed / done × remaining tasks. */
export const etaMs = (planned: number, done: number, startedMs: number | null, nowMs: number): number | null => {
  if (startedMs === null || done <= 0 || planned <= done || nowMs <= startedMs) return null
  return Math.round(((nowMs - startedMs) / done) * (planned - done))
}

const engineConsumer = async (redis: Redis, stream: string): Promise<{ consumer: string; idleMs: number } | undefined> => {
  if ((await redis.exists(stream)) === 0) return undefined
  const rows = await consumersOf(redis, stream, GROUPS.engine).catch(() => [])
  let best: { consumer: string; idleMs: number } | undefined
  for (const r of rows) {
    const c = { consumer: r.name, idleMs: r.idleMs }
    if (!best || c.idleMs < best.idleMs) best = c
  }
  return best
}

type QueueRow = Omit<QueuedCommand, "etaMs">

export const overview = async (d: OverviewDeps): Promise<Overview> => {
  const now = (d.clock ?? Date.now)()
  const { keys, ingress } = d.ingest
  const [actors, counts, transitions, progressExists, backlog, statsHash, consumer, streams] = await Promise.all([
    d.redis.hlen(keys.snapshots),
    layerCounts(d.redis, d.sql, keys.snapshots),
    d.sql<{ symbol: string; type: string; from: number; to: number; at: number }[]>`
      SELECT symbol, event_type AS type, from_layer::int AS "from", to_layer::int AS "to", at_ms::float8 AS at
      FROM layer_transitions ORDER BY at_ms DESC, cause DESC LIMIT 20`,
    tableExists(d.sql, "backfill_progress"),
    backlogs(d.redis, ingress, keys),
    d.redis.hgetall(keys.stats),
    engineConsumer(d.redis, ingress.scores),
    d.streams ? allStreamFigures(d.redis, d.streams) : Promise.resolve([])
  ])
  const layers = { "0": counts[0], "1": counts[1], "2": counts[2], "3": counts[3] }
  const sampled = d.sampler.series()
  const first = sampled.layers
  const change = (name: string, i: number) => counts[i]! - (first[name]?.[0] ?? counts[i]!)
  const layerChange = (first["L1"]?.length ?? 0) > 0
    ? { "0": change("unqualified", 0), "1": change("L1", 1), "2": change("L2", 2), "3": change("L3", 3) }
    : null
  let backfill: Overview["backfill"] = { byStatus: {}, queue: [] }
  if (progressExists) {
    const [byStatus, queue] = await Promise.all([
      d.sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM backfill_progress GROUP BY status`,
      // Active commands first, then the most recently finished, so the queue shows what moves.
      d.sql<QueueRow[]>`
        SELECT command_id, symbol, layer::int AS layer, status, planned::int AS planned, done::int AS done,
               written::float8 AS written, failed::int AS failed, last_error,
               (extract(epoch FROM started_at) * 1000)::float8 AS started,
               (extract(epoch FROM updated_at) * 1000)::float8 AS updated
        FROM backfill_progress ORDER BY (status IN ('done', 'shrunk', 'cancelled', 'dead')), updated_at DESC LIMIT 25`
    ])
    backfill = {
      byStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
      queue: queue.map((c) => ({ ...c, etaMs: c.status === "running" ? etaMs(c.planned, c.done, c.started, now) : null }))
    }
  }
  const persisted: Record<string, number> = {}
  for (const [k, v] of Object.entries(statsHash)) if (Number.isFinite(Number(v))) persisted[k] = Number(v)
  const latest = d.sampler.latest()
  return {
    now, layers, layerChange, layerChangeSince: sampled.t[0] ?? null, windowMs: sampled.windowMs, actors,
    transitions: transitions.map((t) => ({ ...t })), backfill, backlog,
    // One partition until partitions are leased: its consumer is whoever reads the engine group.
    partitions: [{ partition: keys.partition, consumer: consumer?.consumer ?? null, idleMs: consumer?.idleMs ?? null, lease: null }],
    ingest: { ...d.ingest.stats }, processStartedAt: d.processStartedAt, persisted,
    projected: d.projector.projected,
    latencyMs: { p50: latest?.commitP50 ?? null, p99: latest?.commitP99 ?? null },
    streams
  }
}
