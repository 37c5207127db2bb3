/**
 * The engine's Prometheus metrics (served at `/metrics`): counters of the ingest loop and
 * the projector, actors held in memory, consumer-group backlog and stream lengths per
 * stream (dead-letter streams included; group-metrics.ts), backfill commands by status, the commit-latency
 * histogram and the process's own metrics. Values are read when scraped, so the hot path
 * pays nothing for them. docs/metrics.md lists every name and label.
 * Does not serve HTTP (ops-server.ts does) and decides nothing.
 */
import type { Redis } from "ioredis"
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client"
import { entryIdMs } from "../domain/time.ts"
import { GROUPS } from "../../streams/keys.ts"
import { streamGauges, type StreamScope } from "./group-metrics.ts"
import type { Ingest } from "../engine/ingest.ts"
import type { Projector } from "../engine/projector.ts"
import type { Sql } from "../services/postgres.ts"

// Entries whose IDs were not assigned by Redis on arrival (replays of old streams, explicit
// IDs) would read as hours of latency: they are left out of the latency figure.
export const MAX_MEANINGFUL_LATENCY_MS = 3_600_000

/** Commit-latency buckets, seconds: the bench's targets are a few ms; the SLO is 100 ms. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export interface EngineMetrics {
  readonly registry: Registry
}

/** The ingest counters exported as `strata_ingest_<name>_total`. */
export const INGEST_COUNTERS = [
  ["entries", "scores entries handled"],
  ["applied", "score events applied to actors"],
  ["late", "score events ignored as late"],
  ["dead", "scores entries dead-lettered"],
  ["transitions", "lifecycle events published"],
  ["commands", "backfill commands published"],
  ["batches", "batches committed by the atomic step"],
  ["duplicates", "batches found already committed (redelivered after a crash)"]
] as const

/** A counter whose value is a running total kept elsewhere, read at scrape time. */
const totalCounter = (registry: Registry, name: string, help: string, read: () => number): void => {
  new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset()
      this.inc(read())
    }
  })
}

/**
 * `strata_ingest_commit_latency_seconds`; a partitioned engine gives it `labelNames` and a
 * `collect` (run before each scrape) that drops the series of partitions it gave up.
 */
export const commitLatencyHistogram = (registry: Registry, labelNames: readonly string[] = [], collect?: () => void): Histogram =>
  new Histogram({
    name: "strata_ingest_commit_latency_seconds",
    help: "time from a scores entry's arrival (its entry ID) to the commit of its batch, oldest entry of each batch",
    buckets: LATENCY_BUCKETS, labelNames, registers: [registry],
    ...(collect === undefined ? {} : { collect })
  })

/** Seconds from the arrival of a batch's oldest entry to its commit at `nowMs`; undefined when the ID was not an arrival time. */
export const commitLatencySeconds = (oldestId: string, nowMs: number): number | undefined => {
  const ms = nowMs - entryIdMs(oldestId)
  return ms < 0 || ms >= MAX_MEANINGFUL_LATENCY_MS ? undefined : ms / 1000
}

export const engineMetrics = (
  ingest: Ingest, projector: Projector, redis: Redis, sql?: Sql, clock: () => number = Date.now
): EngineMetrics => {
  const registry = new Registry()
  const commitLatency = commitLatencyHistogram(registry)
  ingest.onCommit.push((oldestId) => {
    const seconds = commitLatencySeconds(oldestId, clock())
    if (seconds !== undefined) commitLatency.observe(seconds)
  })
  // prom-client's default names already start with `process_` / `nodejs_`.
  collectDefaultMetrics({ register: registry, prefix: "strata_" })
  for (const [name, help] of INGEST_COUNTERS) {
    totalCounter(registry, `strata_ingest_${name}_total`, `${help} by this process since start`, () => ingest.stats[name])
  }
  totalCounter(registry, "strata_projector_events_total", "lifecycle events projected into companies by this process since start", () => projector.projected)
  new Gauge({ name: "strata_actors_in_memory", help: "actor snapshots held in memory (the rest are passivated in Redis)", registers: [registry], collect() { this.set(ingest.store.size) } })
  // One scope, no partition label: the names and labels an install of one partition always had.
  const scope: StreamScope = {
    groups: [[ingest.ingress.scores, GROUPS.engine], [ingest.keys.lifecycle, GROUPS.projector], [ingest.keys.backfill, GROUPS.workers]],
    dead: [["scores", ingest.ingress.scoresDead], ["lifecycle", ingest.keys.lifecycleDead], ["backfill", ingest.keys.backfillDead]]
  }
  streamGauges(registry, redis, () => [scope])
  if (sql) {
    const commands = new Gauge({
      name: "strata_backfill_commands", help: "backfill commands in backfill_progress by status", labelNames: ["status"], registers: [registry],
      async collect() {
        const exists = await sql`SELECT to_regclass('backfill_progress') IS NOT NULL AS ok`
        if (!exists[0]?.["ok"]) return
        const rows = await sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM backfill_progress GROUP BY status`
        commands.reset()
        for (const r of rows) commands.set({ status: r.status }, r.n)
      }
    })
  }
  return { registry }
}
