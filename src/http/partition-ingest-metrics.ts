/**
 * The ingest and projector metrics of one engine of a partitioned install, per partition it
 * holds (label `partition`; the registry adds `owner`): the same names and types as an
 * install of one partition exports (metrics.ts), so one dashboard reads both — the
 * `strata_ingest_<name>_total` counters, `strata_projector_events_total`,
 * `strata_actors_in_memory` and the `strata_ingest_commit_latency_seconds` histogram.
 * Counters count since this process took the partition; a partition given up loses its
 * series at the next scrape (its next holder reports it from then on).
 * Does not serve HTTP, read Redis or decide anything.
 */
import { Counter, Gauge, type Registry } from "prom-client"
import type { RunningPartition } from "../engine/partition-runner.ts"
import type { Ingest } from "../engine/ingest.ts"
import { INGEST_COUNTERS, commitLatencyHistogram, commitLatencySeconds } from "./metrics.ts"

/** A counter per running partition, read at scrape time. */
const perPartitionCounter = (registry: Registry, name: string, help: string, running: () => readonly RunningPartition[], read: (r: RunningPartition) => number): void => {
  new Counter({
    name, help, labelNames: ["partition"], registers: [registry],
    collect() {
      this.reset()
      for (const r of running()) this.inc({ partition: String(r.partition) }, read(r))
    }
  })
}

/**
 * Register the metrics; the returned function is to be called with each partition as it
 * starts, before its first step, so that the histogram sees every commit of its ingest.
 */
export const partitionIngestMetrics = (
  registry: Registry, running: () => readonly RunningPartition[], clock: () => number = Date.now
): ((run: RunningPartition) => void) => {
  for (const [name, help] of INGEST_COUNTERS) {
    perPartitionCounter(registry, `strata_ingest_${name}_total`, `${help} in the partition by this process since it took it`, running, (r) => r.ingest.stats[name])
  }
  perPartitionCounter(registry, "strata_projector_events_total", "lifecycle events of the partition projected into companies by this process since it took it", running, (r) => r.projector.projected)
  new Gauge({
    name: "strata_actors_in_memory", help: "actor snapshots of the partition held in memory (the rest are passivated in Redis)", labelNames: ["partition"], registers: [registry],
    collect() {
      this.reset()
      for (const r of running()) this.set({ partition: String(r.partition) }, r.ingest.store.size)
    }
  })
  // The ingest each partition's series belong to: a partition taken again starts a new series.
  const observed = new Map<number, Ingest>()
  const latency = commitLatencyHistogram(registry, ["partition"], () => {
    const held = new Set(running().map((r) => r.partition))
    for (const p of [...observed.keys()]) {
      if (held.has(p)) continue
      observed.delete(p)
      latency.remove({ partition: String(p) })
    }
  })
  return (run) => {
    const partition = String(run.partition)
    // From zero: the series starts with the partition, not with its first commit.
    latency.zero({ partition })
    observed.set(run.partition, run.ingest)
    run.ingest.onCommit.push((oldestId) => {
      // A step of an ingest already given up may still end: its commit is not the new holder's.
      if (observed.get(run.partition) !== run.ingest) return
      const seconds = commitLatencySeconds(oldestId, clock())
      if (seconds !== undefined) latency.observe({ partition }, seconds)
    })
  }
}
