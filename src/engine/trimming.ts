/**
 * The engine's trimming fiber: a trim pass (streams/trim.ts) over a plan's streams every
 * `streams.trim.every`, only while this process holds the lease that owns them (the
 * partition's for its streams, the router's for the ingress streams of a partitioned install).
 * Each pass logs what it removed and what held a stream back when a group or the archive
 * moved in between; a failed pass is logged and counted, and the next one runs on time.
 * Trimming is safe without the lease too (the script checks every group): the lease
 * only keeps two engines from doing the same work. Does not compute bounds or figures.
 */
import { Effect, Schedule } from "effect"
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import type { Lease } from "../../streams/lease.ts"
import { parseDuration } from "../domain/time.ts"
import type { Logger } from "../services/logger.ts"
import { trimPass, type CountFloors, type TrimPlan } from "../../streams/trim.ts"
import { trimPlan } from "../../streams/trim-plan.ts"

export interface TrimmingStats {
  passes: number
  /** Passes skipped because this process did not hold the lease. */
  skipped: number
  /** Passes (or streams within a pass) that failed. */
  failures: number
  removed: number
}

/** Fork the trimming fiber into the current scope; its counters are returned. */
export const engineTrimming = (config: Config, deps: { redis: Redis; lease: Lease; log: Logger; plan?: TrimPlan }) =>
  Effect.gen(function* () {
    const stats: TrimmingStats = { passes: 0, skipped: 0, failures: 0, removed: 0 }
    if (!config.streams.trim.enabled) return stats
    const plan = deps.plan ?? trimPlan(config)
    const every = parseDuration(config.streams.trim.every) ?? 30_000
    // Count floors carried from pass to pass: most passes then need no walk of `keep.count` entries.
    const floors: CountFloors = new Map()
    const once = async () => {
      if (deps.lease.held() === undefined) {
        stats.skipped++
        return
      }
      stats.passes++
      for (const r of await trimPass(deps.redis, plan, false, floors)) {
        if ("error" in r) {
          stats.failures++
          deps.log.warn({ stream: r.key, err: r.error }, "trimming a stream failed; the next pass tries again")
        } else if (r.refused !== undefined) {
          deps.log.info({ stream: r.key, refused: r.refused }, "trim held back: a group or the archive mark moved since the bound was read")
        } else if (r.removed > 0) {
          stats.removed += r.removed
          deps.log.info({ stream: r.key, removed: r.removed, by: r.bound.trim ? r.bound.by : undefined }, "stream trimmed")
        }
      }
    }
    yield* Effect.forkScoped(
      Effect.tryPromise({ try: once, catch: (e) => e as Error }).pipe(
        Effect.catch((e) => Effect.sync(() => {
          stats.failures++
          deps.log.warn({ err: e.message }, "trim pass failed; the next pass runs on schedule")
        })),
        Effect.repeat(Schedule.spaced(every))
      )
    )
    return stats
  })
