/**
 * `strata archive [--once]`: the scores archive without the engine (the engine runs the same
 * loop itself while archive.enabled). It takes the lease beside the mark first (partition 0's,
 * or the router's in a partitioned install: keys.ts `archiveKeys`), so it refuses to run
 * beside a live engine: one writer of the archive and its mark at a time.
 * --once: one pass, its report on stdout; otherwise a pass every archive.every until a signal.
 */
import { Effect, Exit, Scope } from "effect"
import { archiveKeys } from "../../streams/keys.ts"
import { Lease } from "../../streams/lease.ts"
import { archiveEvery, archiveFiber, archivePass, archiverDeps } from "../engine/archiver.ts"
import { acquireAtStart, keepLease, releaseLease } from "../engine/lease-keeper.ts"
import { infrastructure } from "../services/infrastructure.ts"
import { createLogger } from "../services/logger.ts"
import { scopedRedis } from "../services/redis.ts"
import { openObjectStore } from "../storage/object-store.ts"
import { runService } from "./run-main.ts"
import { cliLogger, configOrExit, oneShot } from "./shared.ts"
import type { Config } from "../../config/schema.ts"
import type { Logger } from "../services/logger.ts"

export interface ArchiveFlags {
  readonly config?: string
  readonly once?: boolean
  readonly json?: boolean
}

/** Redis, the object store and the lease, inside the current scope. */
const archiverInScope = (config: Config, log: Logger) =>
  Effect.gen(function* () {
    const infra = yield* infrastructure(config, log)
    const redis = yield* scopedRedis(infra.redisUrl, "strata-archive", log)
    const lease = new Lease(redis, archiveKeys(config.redis.prefix, config.partitions), config.lease.ttl_ms)
    yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => acquireAtStart(lease, config.redis.prefix, log), catch: (e) => e as Error }),
      () => releaseLease(lease, log)
    )
    yield* Effect.forkScoped(keepLease(lease, log))
    const store = yield* Effect.acquireRelease(Effect.sync(() => openObjectStore(config.storage)), (s) => Effect.promise(() => s.close()))
    return archiverDeps(config, { redis, store, lease, log })
  })

const once = oneShot("archive", async (config: Config, json: boolean): Promise<void> => {
  const log = createLogger("strata-archive", process.env["LOG_LEVEL"] ?? "warn")
  const scope = Effect.runSync(Scope.make())
  try {
    const deps = await Effect.runPromise(Scope.provide(scope)(archiverInScope(config, log)))
    const report = await archivePass(deps)
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`)
    else {
      process.stdout.write(`archived ${report.rows} entries (${report.dead} dead-lettered) in ${report.parts} parts to ${deps.store.location}; ` +
        `mark ${report.mark ?? "none"}${report.leftovers > 0 ? `; ${report.leftovers} unverified parts of an interrupted pass replaced` : ""}\n`)
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
})

export const archiveCommand = async (opts: ArchiveFlags): Promise<void> => {
  const config = configOrExit(opts.config)
  if (opts.once) return once(config, opts.json === true)
  const log = cliLogger("strata-archive")
  runService("archive", Effect.gen(function* () {
    const deps = yield* archiverInScope(config, log)
    yield* Effect.forkScoped(archiveFiber(deps, archiveEvery(config)))
  }), log)
}
