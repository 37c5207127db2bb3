/**
 * The per-stream gauges read from Redis at scrape time: consumer-group backlog, entries
 * held per consumer and its idle time, dead letters held and stream lengths, over the
 * streams a scrape's `scopes` name. An install of one partition has one scope without a
 * partition label (the names and labels it always had); a partitioned engine has one scope
 * per partition it holds, labelled `partition`, and one for the ingress streams while it
 * routes. docs/metrics.md lists every name and label.
 * Does not serve HTTP and decides nothing.
 */
import type { Redis } from "ioredis"
import { Gauge, type Registry } from "prom-client"
import { consumersIfAny, groupBacklog } from "../../streams/consumer.ts"

/** The streams of one scrape scope: its groups, its dead-letter streams by source, its label. */
export interface StreamScope {
  /** The `partition` label; absent for an install of one partition and for the ingress streams. */
  readonly partition?: string
  /** [stream, group]: each stream's own reader, whose backlog and consumers are reported. */
  readonly groups: readonly (readonly [string, string])[]
  /** [source, stream] of the dead-letter streams. */
  readonly dead: readonly (readonly [string, string])[]
}

const withPartition = (s: StreamScope, labels: Record<string, string>): Record<string, string> =>
  s.partition === undefined ? labels : { ...labels, partition: s.partition }

export const streamGauges = (registry: Registry, redis: Redis, scopes: () => readonly StreamScope[]): void => {
  new Gauge({
    name: "strata_group_backlog", help: "entries pending or not yet read by a consumer group", labelNames: ["stream", "group", "partition"], registers: [registry],
    async collect() {
      const rows = await Promise.all(scopes().flatMap((s) => s.groups.map(async ([stream, group]) => ({ labels: withPartition(s, { stream, group }), v: await groupBacklog(redis, stream, group) }))))
      this.reset()
      for (const r of rows) if (r.v !== undefined) this.set(r.labels, r.v)
    }
  })
  // A consumer that holds claimed entries and has not read for long is a stale claim: its
  // process died or hangs, and the entries wait for another consumer to claim them.
  const consumerLabels = ["stream", "group", "consumer", "partition"]
  // Both gauges come from one XINFO CONSUMERS round per scrape (prom-client collects them concurrently).
  let inflight: Promise<{ labels: Record<string, string>; pending: number; idleMs: number }[]> | undefined
  const consumers = () => inflight ??= Promise.all(scopes().flatMap((s) => s.groups.map(async ([stream, group]) =>
    (await consumersIfAny(redis, stream, group)).map((c) => ({ labels: withPartition(s, { stream, group, consumer: c.name }), pending: c.pending, idleMs: c.idleMs })))))
    .then((l) => l.flat()).finally(() => { inflight = undefined })
  new Gauge({
    name: "strata_consumer_pending", help: "entries delivered to a consumer and not yet acknowledged", labelNames: consumerLabels, registers: [registry],
    async collect() {
      const list = await consumers()
      this.reset()
      for (const c of list) this.set(c.labels, c.pending)
    }
  })
  new Gauge({
    name: "strata_consumer_idle_seconds", help: "time since a consumer last read from its group", labelNames: consumerLabels, registers: [registry],
    async collect() {
      const list = await consumers()
      this.reset()
      for (const c of list) this.set(c.labels, c.idleMs / 1000)
    }
  })
  new Gauge({
    name: "strata_dead_letters", help: "entries held in a dead-letter stream (XLEN; `strata dead-letters purge` lowers it)",
    labelNames: ["stream", "source", "partition"], registers: [registry],
    async collect() {
      const rows = await Promise.all(scopes().flatMap((s) => s.dead.map(async ([source, stream]) => ({ labels: withPartition(s, { stream, source }), v: await redis.xlen(stream) }))))
      this.reset()
      for (const r of rows) this.set(r.labels, r.v)
    }
  })
  new Gauge({
    name: "strata_stream_length", help: "entries held in a stream (XLEN; trimmed streams keep a bounded tail)", labelNames: ["stream", "partition"], registers: [registry],
    async collect() {
      const rows = await Promise.all(scopes().flatMap((s) => s.groups.map(async ([stream]) => ({ labels: withPartition(s, { stream }), v: await redis.xlen(stream) }))))
      this.reset()
      for (const r of rows) this.set(r.labels, r.v)
    }
  })
}
