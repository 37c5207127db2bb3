/**
 * The per-stream figures of every stream the engine owns and trims, as Prometheus
 * metrics: oldest entry age, archive lag, entries trimmed, the last trim, and dead letters
 * dropped by their caps. One reading of Redis per scrape serves every gauge (prom-client
 * collects them concurrently). The totals are Redis' trim record, so they count every
 * process's trims and survive restarts. A partitioned engine reports the plans of the
 * partitions it holds, labelled `partition`, and the ingress plan while it routes (a
 * function of the scrape: what it holds changes). docs/metrics.md lists the names.
 * Does not trim or serve HTTP.
 */
import type { Redis } from "ioredis"
import { Counter, Gauge, type Registry } from "prom-client"
import { allStreamFigures, type StreamFigures, type TrimPlan } from "../../streams/trim.ts"

/** A plan whose streams' series carry a `partition` label (none: an install of one partition, or the ingress streams). */
export interface LabelledPlan {
  readonly plan: TrimPlan
  readonly partition?: string
}

export const streamMetrics = (registry: Registry, redis: Redis, plans: TrimPlan | (() => readonly LabelledPlan[])): void => {
  const current: () => readonly LabelledPlan[] = typeof plans === "function" ? plans : () => [{ plan: plans }]
  let inflight: Promise<{ labels: Record<string, string>; f: StreamFigures }[]> | undefined
  const read = () => inflight ??= Promise.all(current().map(async (p) =>
    (await allStreamFigures(redis, p.plan)).map((f) => ({ labels: p.partition === undefined ? { stream: f.key } : { stream: f.key, partition: p.partition }, f }))))
    .then((l) => l.flat()).finally(() => { inflight = undefined })
  /** One series per stream, set from one reading: a gauge, or a counter for running totals kept in Redis. */
  const perStream = (counter: boolean, name: string, help: string, value: (f: StreamFigures) => number | null) => {
    const options = { name, help, labelNames: ["stream", "partition"], registers: [registry] }
    async function collect(this: Gauge | Counter) {
      const figures = await read()
      this.reset()
      for (const { labels, f } of figures) {
        const v = value(f)
        if (v === null) continue
        if (this instanceof Gauge) this.set(labels, v)
        else this.inc(labels, v)
      }
    }
    return counter ? new Counter({ ...options, collect }) : new Gauge({ ...options, collect })
  }
  const gauge = (name: string, help: string, value: (f: StreamFigures) => number | null) => perStream(false, name, help, value)
  const total = (name: string, help: string, value: (f: StreamFigures) => number | null) => perStream(true, name, help, value)
  gauge("strata_stream_oldest_entry_age_seconds", "Redis TIME minus the oldest entry's ID time, per engine-owned stream (absent when empty)",
    (f) => (f.oldestAgeMs === null ? null : f.oldestAgeMs / 1000))
  gauge("strata_stream_archive_lag_entries", "scores entries above the archive mark (not yet archived; counted up to 100000); only while the archive is enabled",
    (f) => f.archiveLag)
  gauge("strata_stream_last_trim_timestamp_seconds", "Redis TIME of the last trim that removed entries", (f) => (f.lastTrim === null ? null : f.lastTrim.at / 1000))
  gauge("strata_stream_last_trim_removed_entries", "entries the last trim that removed any removed", (f) => f.lastTrim?.removed ?? null)
  total("strata_stream_trimmed_entries_total", "entries removed from an engine-owned stream by trimming (all processes, since the install began)", (f) => f.removed)
  total("strata_dead_letters_dropped_total", "dead letters dropped by a dead-letter stream's cap, oldest first (all processes)", (f) => f.dropped)
}
