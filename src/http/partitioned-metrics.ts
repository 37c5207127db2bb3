/**
 * The per-stream metrics of one engine of a partitioned install: the streams of each
 * partition it holds, labelled `partition`, and the ingress streams (unlabelled) while it
 * holds the router's lease, so that over every engine of the install each stream has
 * exactly one series, from the process that trims it; plus the install's partition count
 * and the router's epoch; and the partition plans this process could not act on. An alert
 * sees a partition nobody holds as one without a `strata_partition_epoch` series
 * (docs/metrics.md).
 * Does not serve HTTP, read PostgreSQL or decide anything.
 */
import type { Redis } from "ioredis"
import { Counter, Gauge, type Registry } from "prom-client"
import type { Config } from "../../config/schema.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { LeaseHolder } from "../../streams/lease.ts"
import { ingressTrimPlan, trimPlan } from "../../streams/trim-plan.ts"
import { streamGauges, type StreamScope } from "./group-metrics.ts"
import { streamMetrics, type LabelledPlan } from "./stream-metrics.ts"

export interface PartitionedMetricSources {
  readonly config: Config
  readonly redis: Redis
  /** The partitions this process runs now. */
  readonly held: () => readonly number[]
  /** The router's lease as this process holds it (undefined while it does not). */
  readonly router: { readonly held: () => LeaseHolder | undefined }
}

export const partitionedStreamMetrics = (registry: Registry, s: PartitionedMetricSources): void => {
  const { prefix } = s.config.redis
  const ingress = ingressKeys(prefix)
  const routing = () => s.router.held() !== undefined
  const scopes = (): StreamScope[] => [
    ...(routing() ? [{ groups: [[ingress.scores, GROUPS.router]], dead: [["scores", ingress.scoresDead]] } satisfies StreamScope] : []),
    ...s.held().map((p): StreamScope => {
      const k = partitionKeys(prefix, p, s.config.partitions)
      return {
        partition: String(p),
        groups: [[k.scores, GROUPS.engine], [k.scoresDirect, GROUPS.engine], [k.lifecycle, GROUPS.projector], [k.backfill, GROUPS.workers]],
        dead: [["scores", k.scoresDead], ["lifecycle", k.lifecycleDead], ["backfill", k.backfillDead]]
      }
    })
  ]
  const plans = (): LabelledPlan[] => [
    ...(routing() ? [{ plan: ingressTrimPlan(s.config) }] : []),
    ...s.held().map((p) => ({ plan: trimPlan(s.config, p), partition: String(p) }))
  ]
  streamGauges(registry, s.redis, scopes)
  streamMetrics(registry, s.redis, plans)
  new Gauge({ name: "strata_partitions", help: "the install's partition count (configuration partitions)", registers: [registry], collect() { this.set(s.config.partitions) } })
  new Gauge({
    name: "strata_router_epoch", help: "the epoch of the router lease while this process holds it, else 0", registers: [registry],
    collect() {
      const h = s.router.held()
      this.set(h === undefined ? 0 : Number(h.epoch))
    }
  })
}

/**
 * Partition plans this process could not act on (read at scrape time from the plan
 * applier): each one leaves partitions held or unheld until a later heartbeat's plan.
 */
export const planFailureMetric = (registry: Registry, failures: () => number): void => {
  new Counter({
    name: "strata_partition_plan_failures_total", help: "partition plans this process could not act on (a later heartbeat's plan is acted on as usual)", registers: [registry],
    collect() { this.reset(); this.inc(failures()) }
  })
}
