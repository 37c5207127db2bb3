/**
 * The engine of an install of more than one partition (`partitions` > 1), one of any
 * number of such processes against one Redis: it joins the install's members (membership
 * on Redis' clock), takes and gives up partitions as the plan says (rendezvous over the
 * members), runs each partition it holds (partition-runner.ts: its lease, ingest and
 * projector), tries the router's lease and routes ingress entries to the partitions'
 * streams while it holds it, and runs the backfill workers (backfill.enabled) over every
 * partition's backfill stream and the tiering fiber; each partition's streams are trimmed
 * by its holder, the ingress streams by the router's, who also archives them to the lake
 * first (archive.enabled: the scanner archive's thread, asking the router's lease, and the
 * partitions' leases for their direct streams, which their holders archive). It
 * serves health, readiness, /metrics, /api/status and the dashboard (the install's
 * figures) on the HTTP port.
 *
 * Shutdown leaves the members first, so the other processes plan without this one at
 * their next heartbeat, then stops its partitions and gives their leases up, then the router.
 */
import { Effect } from "effect"
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client"
import type { Config } from "../../config/schema.ts"
import { configError } from "../../config/load.ts"
import { newOwnerId } from "../../streams/lease.ts"
import { archiveThread } from "../engine/archive-thread.ts"
import { keepLease, releaseLease } from "../engine/lease-keeper.ts"
import { MembershipKeeper } from "../engine/membership.ts"
import { partitionRunner, type PartitionRunner } from "../engine/partition-runner.ts"
import { planApplier } from "../engine/plan-applier.ts"
import { Router, routerLease } from "../engine/router.ts"
import { engineTiering } from "../engine/tiering.ts"
import { engineTrimming } from "../engine/trimming.ts"
import { ingressTrimPlan } from "../../streams/trim-plan.ts"
import { COMPANIES_DDL } from "../engine/companies-schema.ts"
import { sendJson, startOpsServer, type RouteHandler } from "../http/ops-server.ts"
import { partitionedStreamMetrics, planFailureMetric } from "../http/partitioned-metrics.ts"
import { partitionIngestMetrics } from "../http/partition-ingest-metrics.ts"
import { dashboardService } from "../http/dashboard-api.ts"
import { ConfigService } from "../services/config.ts"
import { StepError } from "../services/errors.ts"
import { StoresService } from "../services/infrastructure.ts"
import { LoggerService, type Logger } from "../services/logger.ts"
import { ObjectStoreService } from "../services/object-store.ts"
import { PostgresService } from "../services/postgres.ts"
import { acquire } from "../services/process.ts"
import { RedisService } from "../services/redis.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { loopForever } from "./engine-loop.ts"
import { workers } from "./worker-process.ts"
import { engineReadiness } from "./readiness.ts"
import { installGuard } from "./install-guard.ts"

export interface PartitionedHandles {
  readonly owner: string
  readonly runner: PartitionRunner
  readonly router: Router
  readonly membership: MembershipKeeper
  readonly redisUrl: string
  readonly databaseUrl: string
  readonly httpPort: number
}

/** This process's figures: per partition held, the router's, the membership's. */
const partitionedMetrics = (registry: Registry, runner: PartitionRunner, router: Router, membership: MembershipKeeper, owner: string): Registry => {
  const perPartition = (name: string, help: string, read: (s: ReturnType<PartitionRunner["running"]>[number]) => number) =>
    new Gauge({
      name, help, labelNames: ["partition"], registers: [registry],
      collect() {
        this.reset()
        for (const r of runner.running()) this.set({ partition: String(r.partition) }, read(r))
      }
    })
  perPartition("strata_partition_ingest_entries", "scores entries this process read in the partition since it took it", (r) => r.ingest.stats.entries)
  perPartition("strata_partition_ingest_applied", "scores entries this process applied in the partition since it took it", (r) => r.ingest.stats.applied)
  perPartition("strata_partition_epoch", "the epoch of the partition lease this process holds", (r) => Number(r.lease.epoch ?? 0))
  new Gauge({ name: "strata_partitions_held", help: "partitions this process runs", registers: [registry], collect() { this.set(runner.held().length) } })
  new Gauge({ name: "strata_router_holding", help: "1 while this process holds the router lease", registers: [registry], collect() { this.set(router.lease.held() === undefined ? 0 : 1) } })
  for (const name of ["routed", "copied", "skipped", "dead", "fenced"] as const) {
    new Counter({ name: `strata_router_${name}_total`, help: `ingress entries ${name} by this process's router`, registers: [registry], collect() { this.reset(); this.inc(router.stats[name]) } })
  }
  new Gauge({ name: "strata_members", help: "live engine processes of the install, as of the last heartbeat", registers: [registry], collect() { this.set(membership.view?.members.length ?? 0) } })
  new Counter({ name: "strata_membership_heartbeat_failures_total", help: "membership heartbeats that failed", registers: [registry], collect() { this.reset(); this.inc(membership.heartbeatFailures) } })
  // The process's own metrics, as an install of one partition exports them (one dashboard for both).
  collectDefaultMetrics({ register: registry, prefix: "strata_" })
  registry.setDefaultLabels({ owner })
  return registry
}

export const partitionedEngine = (routes: Readonly<Record<string, RouteHandler>>) =>
  Effect.gen(function* () {
    const config: Config = yield* ConfigService
    const log: Logger = yield* LoggerService
    const infra = yield* StoresService
    if (config.lease.ttl_ms < 4 * config.ingest.block_ms) {
      return yield* Effect.fail(configError([`lease.ttl_ms (${config.lease.ttl_ms}) must be at least 4 × ingest.block_ms (${config.ingest.block_ms})`]))
    }
    const redis = yield* acquire(RedisService.layer("strata-engine-writes"), RedisService)
    const writes = redis.client
    yield* installGuard(writes, config)
    // Processes started together take turns at migrating (services/postgres.ts migrate).
    const { sql } = yield* acquire(PostgresService.layer({ max: 6, migrations: [...COMPANIES_DDL, ...STORAGE_DDL] }), PostgresService)
    const store = yield* acquire(ObjectStoreService.layer, ObjectStoreService)
    const owner = newOwnerId()

    // The router: every process tries its lease; the holder routes.
    const rLease = routerLease(writes, config, owner)
    const router = new Router(yield* redis.connection("strata-router-reads"), writes, config, log, rLease)
    yield* Effect.tryPromise(() => router.init())
    yield* Effect.addFinalizer(() => releaseLease(rLease, log))
    yield* Effect.forkScoped(keepLease(rLease, log))
    yield* Effect.forkScoped(loopForever("router", () => router.runOnce(), log))
    // The ingress streams are trimmed by whoever routes them.
    yield* engineTrimming(config, { redis: writes, lease: rLease, log, plan: ingressTrimPlan(config) })

    // Made before the runner: each partition's ingest metrics watch it from its first step.
    const registry = new Registry()
    const watchPartition = partitionIngestMetrics(registry, () => runner.running())
    const runner = yield* partitionRunner({
      config, log, writes, sql, owner, connection: redis.connection, onStart: watchPartition,
      loop: (name, once) => loopForever(name, once, log)
    })
    // The ingress streams are archived, first, by whoever routes them, and each partition's
    // direct stream by its holder (the trimming waits for each stream's archive mark).
    if (config.archive.enabled) {
      const partitionLease = (p: number) => runner.running().find((r) => r.partition === p)?.lease
      yield* Effect.forkScoped(archiveThread(config, { redisUrl: redis.url, lease: rLease, partitionLease, log }))
    }

    // Plans are acted on off the heartbeat: starting a partition may take longer than the membership's TTL.
    const plans = yield* planApplier((plan) => Effect.gen(function* () {
      // Give up first: the partitions another process should hold are free for it sooner.
      for (const p of plan.release) yield* runner.release(p)
      for (const p of plan.take) yield* runner.take(p)
    }), log)
    planFailureMetric(registry, plans.failures)
    const membership = new MembershipKeeper({
      redis: writes, prefix: config.redis.prefix, owner, count: config.partitions,
      ttlMs: config.lease.ttl_ms, debounceMs: config.lease.join_debounce_ms, log,
      held: () => runner.held(),
      onPlan: plans.offer
    })
    // Added after the runner, so it runs before the runner's own finalizer at shutdown.
    yield* Effect.addFinalizer(() => Effect.promise(() => membership.leave()))
    yield* Effect.forkScoped(membership.run)

    if (config.backfill.enabled) yield* workers()
    const tieringFeed = yield* redis.connection("strata-tiering-feed")
    yield* engineTiering(config, { redis: writes, feedRedis: tieringFeed, sql, store, log })

    partitionedMetrics(registry, runner, router, membership, owner)
    const dashboard = yield* dashboardService({ config, redis: writes, sql, running: () => runner.running(), log })
    partitionedStreamMetrics(registry, { config, redis: writes, held: () => runner.held(), router: rLease })
    const http = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startOpsServer({
          host: config.http.host, port: config.http.port, registry, log,
          readiness: engineReadiness(writes, sql),
          routes: {
            ...dashboard.routes,
            "/api/status": (_req, res) => sendJson(res, 200, {
              owner,
              partitions: config.partitions,
              held: runner.running().map((r) => ({ partition: r.partition, epoch: r.lease.epoch, ingest: r.ingest.stats, projected: r.projector.projected })),
              router: { holding: rLease.held() !== undefined, ...router.stats },
              members: membership.view?.members.map((m) => m.id) ?? []
            }),
            ...routes
          }
        }),
        catch: (e) => new StepError({ loop: "http", message: `cannot serve the HTTP port: ${e instanceof Error ? e.message : String(e)}`, cause: e })
      }),
      (h) => Effect.promise(() => h.close())
    )
    log.info({ owner, partitions: config.partitions, scores: router.ingress.scores, http: `http://${config.http.host}:${http.port}` }, "engine running (partitioned)")
    return { owner, runner, router, membership, redisUrl: infra.redisUrl, databaseUrl: infra.databaseUrl, httpPort: http.port } satisfies PartitionedHandles
  })
