/**
 * One trimming pass over every stream the engine owns (scores, lifecycle, backfill and
 * their dead-letter streams), as the configuration describes them: which groups must
 * exist, what each keeps, and which streams the archive mark bounds. The engine runs it
 * on a schedule (trimming.ts) and `strata trim` runs it once. Also the figures the
 * status command, the overview and the metrics show per stream.
 * Does not compute bounds or talk to Redis itself: streams/trim.ts does.
 */
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { redisTimeMs, streamFigures, trimStream, type StreamFigures, type TrimOutcome, type TrimTarget } from "../../streams/trim.ts"
import { parseDuration } from "../domain/time.ts"

/** The streams' names, in the order reports list them. */
export const TRIMMED_STREAMS = ["scores", "lifecycle", "backfill", "scores_dead", "lifecycle_dead", "backfill_dead"] as const
export type TrimmedStream = (typeof TRIMMED_STREAMS)[number]

export interface TrimPlan {
  readonly targets: readonly TrimTarget[]
  /** The hash where trims are recorded. */
  readonly record: string
}

/** Every stream the engine owns, with its retention, required group and archive bound. */
export const trimPlan = (config: Pick<Config, "redis" | "streams" | "archive">): TrimPlan => {
  const ingress = ingressKeys(config.redis.prefix)
  const keys = partitionKeys(config.redis.prefix, 0)
  const s = config.streams
  const keepOf = (k: { age: string; count: number }) => ({ ageMs: parseDuration(k.age) ?? 0, count: k.count })
  const mark = config.archive.enabled ? keys.scoresArchived : undefined
  const live = (name: TrimmedStream, key: string, group: string, keep: { age: string; count: number }, archiveMark?: string): TrimTarget =>
    ({ name, key, keep: keepOf(keep), requiredGroups: [group], archiveMark, dead: false })
  // A dead-letter stream has no reader of the engine's own: only the cap (and any user group) bounds it.
  const dead = (name: TrimmedStream, key: string, cap: number, archiveMark?: string): TrimTarget =>
    ({ name, key, keep: { count: cap }, requiredGroups: [], archiveMark, dead: true })
  return {
    record: keys.trims,
    targets: [
      live("scores", ingress.scores, GROUPS.engine, s.scores.keep, mark),
      live("lifecycle", keys.lifecycle, GROUPS.projector, s.lifecycle.keep),
      live("backfill", keys.backfill, GROUPS.workers, s.backfill.keep),
      dead("scores_dead", ingress.scoresDead, s.scores_dead.cap, mark),
      dead("lifecycle_dead", keys.lifecycleDead, s.lifecycle_dead.cap),
      dead("backfill_dead", keys.backfillDead, s.backfill_dead.cap)
    ]
  }
}

/**
 * Trim every stream once (or, with `dryRun`, say what would go). Streams are trimmed one
 * after another; one stream's failure is reported in its row and does not stop the rest.
 */
export const trimPass = async (redis: Redis, plan: TrimPlan, dryRun = false): Promise<(TrimOutcome | { name: string; key: string; error: string })[]> => {
  const out: (TrimOutcome | { name: string; key: string; error: string })[] = []
  for (const t of plan.targets) {
    try {
      out.push(await trimStream(redis, t, plan.record, dryRun))
    } catch (e) {
      out.push({ name: t.name, key: t.key, error: (e as Error).message })
    }
  }
  return out
}

/** Per-stream figures for operators; one Redis TIME reading for all of them. */
export const allStreamFigures = async (redis: Redis, plan: TrimPlan): Promise<StreamFigures[]> => {
  const now = await redisTimeMs(redis)
  return Promise.all(plan.targets.map((t) => streamFigures(redis, t, plan.record, now)))
}
