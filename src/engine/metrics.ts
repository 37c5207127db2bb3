/**
 * The engine's Prometheus metrics: counters of the ingest loop and the projector, actors
 * held in memory, and consumer-group lag read from Redis at scrape time. Values are
 * collected when scraped, so the hot path pays nothing for them.
 */
import type { Redis } from "ioredis"
import { Gauge, Registry, collectDefaultMetrics } from "prom-client"
import { groupBacklog } from "../../streams/consumer.ts"
import { GROUPS } from "../../streams/keys.ts"
import type { Ingest } from "./ingest.ts"
import type { Projector } from "./projector.ts"

export const engineMetrics = (ingest: Ingest, projector: Projector, redis: Redis): Registry => {
  const registry = new Registry()
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
  return registry
}
