/**
 * Which streams the engine trims and how, from the configuration: every stream it owns
 * (scores, lifecycle, backfill and their dead-letter streams), the group that must exist
 * before anything of it goes (its own reader), what it keeps, and which streams the
 * archive mark bounds (the ingress scores stream and its dead letters, while the archive is
 * enabled: partition 0's in an install of one partition, the ingress plan's in a partitioned
 * one; and there each partition's direct stream, by its own mark).

 * A plan only: trim.ts trims and reads figures by it.
 */
import type { Config } from "../config/schema.ts"
import { parseDuration } from "../src/domain/time.ts"
import { archiveKeys, GROUPS, ingressKeys, partitionKeys, partitionScores, routerKeys } from "./keys.ts"
import type { TrimPlan, TrimTarget } from "./trim.ts"

/** The streams' names, in the order reports list them. */
export const TRIMMED_STREAMS = ["scores", "scores_direct", "lifecycle", "backfill", "scores_dead", "lifecycle_dead", "backfill_dead"] as const
export type TrimmedStream = (typeof TRIMMED_STREAMS)[number]

const keepOf = (k: { age: string; count: number }) => ({ ageMs: parseDuration(k.age) ?? 0, count: k.count })
const live = (name: TrimmedStream, key: string, group: string, keep: { age: string; count: number }, archiveMark?: string): TrimTarget =>
  ({ name, key, keep: keepOf(keep), requiredGroups: [group], archiveMark, dead: false })
// A dead-letter stream has no reader of the engine's own: only the cap (and any user group) bounds it.
const dead = (name: TrimmedStream, key: string, cap: number, archiveMark?: string): TrimTarget =>
  ({ name, key, keep: { count: cap }, requiredGroups: [], archiveMark, dead: true })

/**
 * Every stream one partition's engine owns, with its retention, required group and archive
 * bound. In an install of one partition its scores streams are the ingress ones, bounded by
 * the archive mark while the archive is enabled; in a partitioned install they are the
 * partition's own, copies of ingress entries that need no archive (the ingress streams have
 * a plan of their own, ingressTrimPlan, bounded by the archive). A partitioned install's
 * direct stream (`scores_direct`) keeps what `streams.scores.keep` says and never loses an
 * entry the engine's group has not read or still has pending; its entries are no copies,
 * so while the archive is enabled it is also bound by its own archive mark (keys.ts
 * `scoresDirectArchived`, advanced by the partition's holder as it archives the stream):
 * the same rule as the ingress stream's.
 */
export const trimPlan = (config: Pick<Config, "redis" | "streams" | "archive" | "partitions">, partition = 0): TrimPlan => {
  const keys = partitionKeys(config.redis.prefix, partition, config.partitions)
  const scores = partitionScores(config.redis.prefix, keys)
  const s = config.streams
  // A partition's own scores stream holds copies: the archive bounds the ingress stream they came from.
  const mark = config.archive.enabled && config.partitions === 1 ? archiveKeys(config.redis.prefix, 1).scoresArchived : undefined
  return {
    record: keys.trims,
    targets: [
      live("scores", scores.scores, GROUPS.engine, s.scores.keep, mark),
      ...(config.partitions === 1 ? [] : [live("scores_direct", keys.scoresDirect, GROUPS.engine, s.scores.keep,
        config.archive.enabled ? keys.scoresDirectArchived : undefined)]),
      live("lifecycle", keys.lifecycle, GROUPS.projector, s.lifecycle.keep),
      live("backfill", keys.backfill, GROUPS.workers, s.backfill.keep),
      dead("scores_dead", scores.scoresDead, s.scores_dead.cap, mark),
      dead("lifecycle_dead", keys.lifecycleDead, s.lifecycle_dead.cap),
      dead("backfill_dead", keys.backfillDead, s.backfill_dead.cap)
    ]
  }
}

/**
 * The ingress streams of a partitioned install: entries leave once the router's group has
 * routed them and the scores retention has passed, and, while the archive is enabled, once
 * the router's holder archived them (the mark in the router's slot); that holder trims them.
 * Their records live beside them (routerKeys): the ingress stream's in its slot, the dead
 * letters' in theirs, so each trim script keeps to one Cluster slot; the dead letters'
 * trim reads the archive mark before its script (streams/trim.ts).
 */
export const ingressTrimPlan = (config: Pick<Config, "redis" | "streams" | "archive">): TrimPlan => {
  const ingress = ingressKeys(config.redis.prefix)
  const router = routerKeys(config.redis.prefix)
  const s = config.streams
  const mark = config.archive.enabled ? router.scoresArchived : undefined
  return {
    record: router.trims,
    targets: [
      live("scores", ingress.scores, GROUPS.router, s.scores.keep, mark),
      { ...dead("scores_dead", ingress.scoresDead, s.scores_dead.cap, mark), record: router.scoresDeadTrims }
    ]
  }
}

/** Every trim plan of the install: its one partition's, or the ingress streams' and every partition's. */
export const installTrimPlans = (config: Pick<Config, "redis" | "streams" | "archive" | "partitions">): readonly TrimPlan[] =>
  config.partitions === 1
    ? [trimPlan(config)]
    : [ingressTrimPlan(config), ...Array.from({ length: config.partitions }, (_, p) => trimPlan(config, p))]
