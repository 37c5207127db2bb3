/**
 * The engine's Prometheus metrics (served at `/metrics`): counters of the ingest loop and
 * the projector, actors held in memory, consumer-group backlog and stream lengths per
 * stream (dead-letter streams included), backfill commands by status, the commit-latency
 * histogram and the process's own metrics. Values are read when scraped, so the hot path
 * pays nothing for them. docs/metrics.md lists every name and label.
 * Does not serve HTTP (ops-server.ts does) and decides nothing.
 */
import type { Redis } from "ioredis"
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client"
import { entryIdMs } from "../domain/time.ts"
import { consumersOf as groupConsumers, groupBacklog } from "../../streams/consumer.ts"
import { GROUPS } from "../../streams/keys.ts"
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
const INGEST_COUNTERS = [
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

const consumersOf = async (redis: Redis, stream: string, group: string): Promise<{ name: string; pending: number; idleMs: number }[]> => {
  if ((await redis.exists(stream)) === 0) return []
  try {
    return await groupConsumers(redis, stream, group)
  } catch (e) {
    // The group is created by its loop at start; until then there is nobody to report.
    if (String((e as Error).message).includes("NOGROUP")) return []
    throw e
  }
}

export const engineMetrics = (
  ingest: Ingest, projector: Projector, redis: Redis, sql?: Sql, clock: () => number = Date.now
): EngineMetrics => {
  const registry = new Registry()
  const commitLatency = new Histogram({
    name: "strata_ingest_commit_latency_seconds",
    help: "time from a scores entry's arrival (its entry ID) to the commit of its batch, oldest entry of each batch",
    buckets: LATENCY_BUCKETS, registers: [registry]
  })
  ingest.onCommit.push((oldestId) => {
    const ms = clock() - entryIdMs(oldestId)
    if (ms < 0 || ms >= MAX_MEANINGFUL_LATENCY_MS) return
    commitLatency.observe(ms / 1000)
  })
  // prom-client's default names already start with `process_` / `nodejs_`.
  collectDefaultMetrics({ register: registry, prefix: "strata_" })
  for (const [name, help] of INGEST_COUNTERS) {
    totalCounter(registry, `strata_ingest_${name}_total`, `${help} by this process since start`, () => ingest.stats[name])
  }
  totalCounter(registry, "strata_projector_events_total", "lifecycle events projected into companies by this process since start", () => projector.projected)
  new Gauge({ name: "strata_actors_in_memory", help: "actor snapshots held in memory (the rest are passivated in Redis)", registers: [registry], collect() { this.set(ingest.store.size) } })
  const groups = [[ingest.ingress.scores, GROUPS.engine], [ingest.keys.lifecycle, GROUPS.projector], [ingest.keys.backfill, GROUPS.workers]] as const
  const backlog = new Gauge({
    name: "strata_group_backlog", help: "entries pending or not yet read by a consumer group", labelNames: ["stream", "group"], registers: [registry],
    async collect() {
      for (const [stream, group] of groups) {
        const v = await groupBacklog(redis, stream, group)
        if (v !== undefined) backlog.set({ stream, group }, v)
      }
    }
  })
  // A consumer that holds claimed entries and has not read for long is a stale claim: its
  // process died or hangs, and the entries wait for another consumer to claim them.
  const consumerLabels = ["stream", "group", "consumer"]
  // Both gauges come from one XINFO CONSUMERS round per scrape (prom-client collects them concurrently).
  let inflight: Promise<{ stream: string; group: string; name: string; pending: number; idleMs: number }[]> | undefined
  const consumers = () => inflight ??= Promise.all(groups.map(async ([stream, group]) =>
    (await consumersOf(redis, stream, group)).map((c) => ({ stream, group, ...c })))).then((l) => l.flat()).finally(() => { inflight = undefined })
  new Gauge({
    name: "strata_consumer_pending", help: "entries delivered to a consumer and not yet acknowledged", labelNames: consumerLabels, registers: [registry],
    async collect() {
      const list = await consumers()
      this.reset()
      for (const c of list) this.set({ stream: c.stream, group: c.group, consumer: c.name }, c.pending)
    }
  })
  new Gauge({
    name: "strata_consumer_idle_seconds", help: "time since a consumer last read from its group", labelNames: consumerLabels, registers: [registry],
    async collect() {
      const list = await consumers()
      this.reset()
      for (const c of list) this.set({ stream: c.stream, group: c.group, consumer: c.name }, c.idleMs / 1000)
    }
  })
  const deadStreams = [
    ["scores", ingest.ingress.scoresDead], ["lifecycle", ingest.keys.lifecycleDead], ["backfill", ingest.keys.backfillDead]
  ] as const
  const dead = new Gauge({
    name: "strata_dead_letters", help: "entries held in a dead-letter stream (XLEN; `strata dead-letters purge` lowers it)",
    labelNames: ["stream", "source"], registers: [registry],
    async collect() {
      for (const [source, stream] of deadStreams) dead.set({ stream, source }, await redis.xlen(stream))
    }
  })
  const length = new Gauge({
    name: "strata_stream_length", help: "entries held in a stream (XLEN; trimmed streams keep a bounded tail)", labelNames: ["stream"], registers: [registry],
    async collect() {
      for (const [stream] of groups) length.set({ stream }, await redis.xlen(stream))
    }
  })
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
