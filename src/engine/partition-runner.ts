/**
 * The partitions one engine process runs, in an install of more than one: for each
 * partition it holds, the partition's lease (kept renewed), its ingest loop, its
 * companies projector and the trimming of its streams, all in a scope of the partition's own, so that giving a partition
 * up stops exactly its fibers and closes exactly its connections.
 *
 * `take(p)` tries the partition's lease once and returns at once: a partition another
 * process still holds is not waited for here (the membership plan asks again on its next
 * tick, and the holder gives it up on its own plan). `release(p)` stops the partition's
 * loops first and gives its lease up after, so no step of this process can follow the
 * next owner's first one; a step in flight when the loops stop is atomic and fenced.
 * Does not decide which partitions to hold (partition-plan.ts does) nor route scores into
 * the partitions' streams (the router does).
 */
import { Effect, Exit, Scope } from "effect"
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { PartitionLease } from "../../streams/lease.ts"
import type { Logger } from "../services/logger.ts"
import type { Sql } from "../services/postgres.ts"
import { Ingest } from "./ingest.ts"
import { keepLease, releaseLease } from "./lease-keeper.ts"
import { Projector } from "./projector.ts"
import { engineTrimming } from "./trimming.ts"
import { trimPlan } from "../../streams/trim-plan.ts"

/** What runs for one held partition. */
export interface RunningPartition {
  readonly partition: number
  readonly lease: PartitionLease
  readonly ingest: Ingest
  readonly projector: Projector
}

export interface PartitionRunnerDeps {
  readonly config: Config
  readonly log: Logger
  /** The process's shared connection: steps, lease scripts, short commands. */
  readonly writes: Redis
  /** A new connection of its own, closed with the scope it is made in (blocking reads). */
  readonly connection: (name: string) => Effect.Effect<Redis, never, Scope.Scope>
  readonly sql: Sql
  /** The owner id of this process: one for all its partitions' leases. */
  readonly owner: string
  /** Called with each partition as it starts, before its first step (its metrics watch its commits). */
  readonly onStart?: (run: RunningPartition) => void
  /** Runs a loop until interrupted (the engine's retrying loop). */
  readonly loop: (name: string, once: () => Promise<number>) => Effect.Effect<unknown, unknown>
}

export interface PartitionRunner {
  /** Try to take partition p; true when this process runs it afterwards. */
  readonly take: (p: number) => Effect.Effect<boolean>
  /** Stop running partition p and give its lease up (nothing when not held). */
  readonly release: (p: number) => Effect.Effect<void>
  /** The partitions this process runs now, ascending. */
  readonly held: () => readonly number[]
  readonly running: () => readonly RunningPartition[]
}

/**
 * A runner whose partitions all stop when the enclosing scope closes (shutdown): each is
 * released in turn, so its lease is given up rather than left to expire.
 */
export const partitionRunner = (deps: PartitionRunnerDeps): Effect.Effect<PartitionRunner, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { config, log } = deps
    const parts = new Map<number, { readonly run: RunningPartition; readonly scope: Scope.Closeable }>()

    const release = (p: number) =>
      Effect.gen(function* () {
        const part = parts.get(p)
        if (part === undefined) return
        parts.delete(p)
        yield* Scope.close(part.scope, Exit.void)
        yield* releaseLease(part.run.lease, log)
      })

    const start = (lease: PartitionLease, scope: Scope.Closeable) =>
      Effect.gen(function* () {
        const p = lease.keys.partition
        const reads = yield* deps.connection(`strata-ingest-reads-${p}`)
        const projectorRedis = yield* deps.connection(`strata-projector-${p}`)
        const ingest = new Ingest(reads, deps.writes, config, log, lease)
        const projector = new Projector(projectorRedis, deps.sql, ingest.keys, log, config.projector.batch_size, config.ingest.block_ms, `projector-${p}`)
        yield* Effect.tryPromise(() => ingest.init())
        yield* Effect.tryPromise(() => projector.init())
        // Runs after the loops are interrupted and before the connections close (finalizers
        // run last-added first): a projector read cut short by the close is its end.
        yield* Effect.addFinalizer(() => Effect.sync(() => projector.stop()))
        const run: RunningPartition = { partition: p, lease, ingest, projector }
        deps.onStart?.(run)
        yield* Effect.forkScoped(keepLease(lease, log))
        yield* Effect.forkScoped(deps.loop(`ingest-${p}`, () => ingest.runOnce()))
        yield* Effect.forkScoped(deps.loop(`projector-${p}`, () => projector.runOnce()))
        yield* engineTrimming(config, { redis: deps.writes, lease, log, plan: trimPlan(config, p) })
        return run
      }).pipe(Scope.provide(scope))

    const take = (p: number) =>
      Effect.gen(function* () {
        if (parts.has(p)) return true
        const lease = new PartitionLease(deps.writes, partitionKeys(config.redis.prefix, p, config.partitions), config.lease.ttl_ms, deps.owner)
        const got = yield* Effect.tryPromise(() => lease.acquire()).pipe(
          Effect.map((r) => r.held),
          Effect.catch((e) => Effect.sync(() => {
            // tryPromise wraps the rejection: its cause is what Redis said (a CROSSSLOT, a closed connection).
            log.warn({ partition: p, err: String((e as { readonly cause?: unknown }).cause ?? e) }, "could not try the partition lease; the next plan tries again")
            return false
          }))
        )
        if (!got) return false
        const scope = yield* Scope.make()
        const started = yield* Effect.exit(start(lease, scope))
        if (Exit.isFailure(started)) {
          log.warn({ partition: p, cause: String(started.cause) }, "could not start the partition; giving its lease up, the next plan tries again")
          yield* Scope.close(scope, Exit.void)
          yield* releaseLease(lease, log)
          return false
        }
        parts.set(p, { run: started.value, scope })
        log.info({ partition: p, owner: deps.owner, epoch: lease.epoch }, "running the partition")
        return true
      })

    // Every partition at once: the others take each lease at their next plan, so a leaving
    // engine that gave its partitions up one after another would hold the last ones longest.
    yield* Effect.addFinalizer(() => Effect.forEach([...parts.keys()], release, { concurrency: "unbounded", discard: true }))

    return {
      take,
      release,
      held: () => [...parts.keys()].sort((a, b) => a - b),
      running: () => [...parts.values()].map((x) => x.run).sort((a, b) => a.partition - b.partition)
    }
  })
