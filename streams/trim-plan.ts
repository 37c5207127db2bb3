/**
 * Which streams the engine trims and how, from the configuration: every stream it owns
 * (scores, lifecycle, backfill and their dead-letter streams), the group that must exist
 * before anything of it goes (its own reader), what it keeps, and which streams the
 * archive mark bounds (scores and scores dead letters, while the archive is enabled).
 * A plan only: trim.ts trims and reads figures by it.
 */
import type { Config } from "../config/schema.ts"
import { parseDuration } from "../src/domain/time.ts"
import { GROUPS, ingressKeys, partitionKeys } from "./keys.ts"
import type { TrimPlan, TrimTarget } from "./trim.ts"

/** The streams' names, in the order reports list them. */
export const TRIMMED_STREAMS = ["scores", "lifecycle", "backfill", "scores_dead", "lifecycle_dead", "backfill_dead"] as const
export type TrimmedStream = (typeof TRIMMED_STREAMS)[number]

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
