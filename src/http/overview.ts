/**
 * What the dashboard and `GET /api/overview` show as current figures, gathered in one
 * read: symbols per layer and their change over the sampler's window, recent transitions,
 * the backfill queue (per-command progress, ETA, failures), consumer-group backlogs, the
 * partition and its consumer, the persisted ingest counters next to this process's own,
 * the latest commit latency, and every engine-owned stream's figures (length, oldest entry
 * age, archive lag, last trim, dead letters dropped). In a partitioned install the figures
 * are the install's (summed over the partitions), `partitions` has each partition's owner,
 * epoch, scores lag and streams, and `router` and `members` are added
 * (engine/install-view.ts); `streams` then holds the ingress streams. Read only; every
 * figure comes from Redis, PostgreSQL, the process's own counters or the sampler. A
 * stream whose consumers cannot be read is handed to `onReadFailure` (the dashboard logs
 * and counts it) and its partition is shown without a consumer.
 */
import type { Redis } from "ioredis"
import type { Sql } from "../services/postgres.ts"
import { consumersIfAny } from "../../streams/consumer.ts"
import type { Config } from "../../config/schema.ts"
import { GROUPS, type IngressKeys, type PartitionKeys } from "../../streams/keys.ts"
import { allStreamFigures, type StreamFigures, type TrimPlan } from "../../streams/trim.ts"
import { installView, type InstallView, type MemberView, type RouterView } from "../engine/install-view.ts"
import { actorCount, backlogs, layerCounts, persistedStats, tableExists } from "./figures.ts"
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
  /**
   * Per partition: the consumer reading its engine group (over both its scores streams in a
   * partitioned install: the one that read last) and how long it has been idle; in
   * a partitioned install also its lease holder (`lease`), epoch, scores lag and streams.
   */
  readonly partitions: readonly OverviewPartition[]
  /** A partitioned install's router and members; absent in an install of one partition. */
  readonly router?: RouterView
  readonly members?: readonly MemberView[]
  /** Counters of this process since it started at `processStartedAt`. */
  readonly ingest: Readonly<Record<string, number>>
  readonly processStartedAt: number
  /** The partition's persisted counters (the stats hash): they survive restarts. */
  readonly persisted: Record<string, number>
  readonly projected: number
  /** Commit latency of the last sampled interval; null when no batch committed (idle). */
  readonly latencyMs: { readonly p50: number | null; readonly p99: number | null }
  /** Per engine-owned stream; oldest entry age is Redis TIME minus the entry ID's time. Empty without a plan. */
  readonly streams: readonly StreamFigures[]
}

export interface OverviewPartition {
  readonly partition: number
  readonly consumer: string | null
  readonly idleMs: number | null
  readonly lease: string | null
  readonly epoch?: number | null
  readonly lag?: number | null
  readonly streams?: readonly StreamFigures[]
}

/** A read the overview could not make; it answers without that figure. */
export interface OverviewReadFailure {
  readonly read: "consumers"
  readonly key: string
  readonly error: string
}

export interface OverviewDeps {
  readonly redis: Redis
  readonly sql: Sql
  readonly ingress: IngressKeys
  /** Every partition of the install (partition 0 alone in an install of one). */
  readonly partitions: readonly PartitionKeys[]
  /** This process's ingest counters (summed over the partitions it runs) and events projected. */
  readonly stats: () => Readonly<Record<string, number>>
  readonly projected: () => number
  /** A partitioned install's settings, to read its owners, router and members. */
  readonly install?: Pick<Config, "redis" | "streams" | "archive" | "partitions">
  readonly sampler: Sampler
  readonly processStartedAt: number
  readonly clock?: () => number
  /** The streams the engine trims (streams/trim-plan.ts), for their figures. */
  readonly streams?: TrimPlan
  /** Told of every read that failed and was left out. */
  readonly onReadFailure: (f: OverviewReadFailure) => void
}

/** Remaining time at the pace so far: elapsed / done × remaining tasks. */
export const etaMs = (planned: number, done: number, startedMs: number | null, nowMs: number): number | null => {
  if (startedMs === null || done <= 0 || planned <= done || nowMs <= startedMs) return null
  return Math.round(((nowMs - startedMs) / done) * (planned - done))
}

/**
 * The consumer of the engine group that read last over the given streams (a partition's
 * router-filled and direct stream: the engine reads both, and either may be the one that
 * moves), with how long it has been idle; undefined while no stream has one. A stream
 * whose consumers cannot be read (other than not existing yet) goes to `onReadFailure`
 * and the others still count.
 */
export const engineConsumer = async (
  redis: Redis, streams: readonly string[], onReadFailure: (f: OverviewReadFailure) => void
): Promise<{ consumer: string; idleMs: number } | undefined> => {
  let best: { consumer: string; idleMs: number } | undefined
  for (const stream of streams) {
    let rows: Awaited<ReturnType<typeof consumersIfAny>>
    try {
      rows = await consumersIfAny(redis, stream, GROUPS.engine)
    } catch (e) {
      onReadFailure({ read: "consumers", key: stream, error: e instanceof Error ? e.message : String(e) })
      continue
    }
    for (const r of rows) {
      const c = { consumer: r.name, idleMs: r.idleMs }
      if (!best || c.idleMs < best.idleMs) best = c
    }
  }
  return best
}

type QueueRow = Omit<QueuedCommand, "etaMs">

/**
 * One row per partition. An install of one partition shows what it always did (its
 * consumer is whoever reads the engine group; no lease column); a partitioned one adds
 * each partition's holder, epoch, lag and streams.
 */
const partitionsOf = (
  keys: readonly PartitionKeys[], consumers: readonly ({ consumer: string; idleMs: number } | undefined)[], install: InstallView | undefined
): OverviewPartition[] =>
  keys.map((k, i) => {
    const c = consumers[i]
    const base = { partition: k.partition, consumer: c?.consumer ?? null, idleMs: c?.idleMs ?? null }
    const v = install?.partitions[i]
    return v === undefined ? { ...base, lease: null } : { ...base, lease: v.owner, epoch: v.epoch, lag: v.lag, streams: v.streams }
  })

export const overview = async (d: OverviewDeps): Promise<Overview> => {
  const now = (d.clock ?? Date.now)()
  const { ingress, partitions: keys } = d
  const snapshots = keys.map((k) => k.snapshots)
  const [actors, counts, transitions, progressExists, backlog, persisted, consumer, streams, install] = await Promise.all([
    actorCount(d.redis, snapshots),
    layerCounts(d.redis, d.sql, snapshots),
    d.sql<{ symbol: string; type: string; from: number; to: number; at: number }[]>`
      SELECT symbol, event_type AS type, from_layer::int AS "from", to_layer::int AS "to", at_ms::float8 AS at
      FROM layer_transitions ORDER BY at_ms DESC, cause DESC LIMIT 20`,
    tableExists(d.sql, "backfill_progress"),
    backlogs(d.redis, ingress, keys),
    persistedStats(d.redis, keys),
    d.install
      ? Promise.all(keys.map((k) => engineConsumer(d.redis, [k.scores, k.scoresDirect], d.onReadFailure)))
      : engineConsumer(d.redis, [ingress.scores], d.onReadFailure).then((c) => [c]),
    d.streams ? allStreamFigures(d.redis, d.streams) : Promise.resolve([]),
    d.install ? installView(d.redis, d.install) : Promise.resolve(undefined)
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
  const latest = d.sampler.latest()
  return {
    now, layers, layerChange, layerChangeSince: sampled.t[0] ?? null, windowMs: sampled.windowMs, actors,
    transitions: transitions.map((t) => ({ ...t })), backfill, backlog,
    partitions: partitionsOf(keys, consumer, install),
    ...(install ? { router: install.router, members: install.members } : {}),
    ingest: { ...d.stats() }, processStartedAt: d.processStartedAt, persisted,
    projected: d.projected(),
    latencyMs: { p50: latest?.commitP50 ?? null, p99: latest?.commitP99 ?? null },
    streams: install ? install.router.streams : streams
  }
}
