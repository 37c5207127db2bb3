/**
 * The engine's Prometheus metrics: counters of the ingest loop and the projector, actors
 * held in memory, and consumer-group lag read from Redis at scrape time. Values are
 * collected when scraped, so the hot path pays nothing for them.
 */
import type { Redis } from "ioredis"
import { Gauge, Registry, Summary, collectDefaultMetrics } from "prom-client"
import { entryIdMs } from "../domain/time.ts"
import { groupBacklog } from "../../streams/consumer.ts"
import { GROUPS } from "../../streams/keys.ts"
import type { Ingest } from "./ingest.ts"
import type { Projector } from "./projector.ts"

// Entries whose IDs were not assigned by Redis on arrival (replays of old streams, explicit
// IDs) would read as hours of latency: they are left out of the latency figure.
const MAX_MEANINGFUL_LATENCY_MS = 3_600_000

export interface EngineMetrics {
  readonly registry: Registry
  /** Commit latency of the last minute, ms: entry ID time → batch committed. */
  readonly latency: () => Promise<{ p50: number; p99: number; count: number }>
}

export const engineMetrics = (ingest: Ingest, projector: Projector, redis: Redis, clock: () => number = Date.now): EngineMetrics => {
  const registry = new Registry()
  const commitLatency = new Summary({
    name: "strata_ingest_commit_latency_seconds",
    help: "time from a scores entry's arrival (its entry ID) to the commit of its batch, oldest entry of each batch, last 60 s",
    percentiles: [0.5, 0.99, 0.999], maxAgeSeconds: 60, ageBuckets: 6, registers: [registry]
  })
  ingest.onCommit.push((oldestId) => {
    const ms = clock() - entryIdMs(oldestId)
    if (ms >= 0 && ms < MAX_MEANINGFUL_LATENCY_MS) commitLatency.observe(ms / 1000)
  })
  collectDefaultMetrics({ register: registry, prefix: "strata_process_" })
  const counters = [
    ["entries", "scores entries handled"],
    ["applied", "score events applied to actors"],
    ["late", "score events ignored as late"],
    ["dead", "scores entries dead-lettered"],
    ["transitions", "lifecycle events published"],
    ["commands", "backfill commands published"],
    ["batches", "batches committed by the atomic step"]
  ] as const
  for (const [name, help] of counters) {
    new Gauge({
      name: `strata_ingest_${name}_total`, help: `${help} by this process since start`, registers: [registry],
      collect() { this.set(ingest.stats[name]) }
    })
  }
  new Gauge({ name: "strata_actors_in_memory", help: "actor snapshots held in memory (the rest are passivated in Redis)", registers: [registry], collect() { this.set(ingest.store.size) } })
  new Gauge({ name: "strata_projector_events_total", help: "lifecycle events projected into companies by this process", registers: [registry], collect() { this.set(projector.projected) } })
  const lag = new Gauge({
    name: "strata_group_backlog", help: "entries pending or not yet read by a consumer group", labelNames: ["stream", "group"], registers: [registry],
    async collect() {
      for (const [stream, group] of [[ingest.ingress.scores, GROUPS.engine], [ingest.keys.lifecycle, GROUPS.projector], [ingest.keys.backfill, GROUPS.workers]] as const) {
        const v = await groupBacklog(redis, stream, group)
        if (v !== undefined) lag.set({ stream, group }, v)
      }
    }
  })
  return {
    registry,
    latency: async () => {
      const { values } = await commitLatency.get()
      const at = (q: number) => (values.find((v) => v.labels["quantile"] === q)?.value ?? 0) * 1000
      const count = values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0
      return { p50: at(0.5), p99: at(0.99), count }
    }
  }
}
