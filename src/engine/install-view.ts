/**
 * What an operator reads about a partitioned install as a whole, from Redis alone: per
 * partition its lease holder (owner id, epoch, since when), the backlog of the engine group
 * on its scores streams (router-filled and direct) and the figures of every stream it owns; the router's holder, the
 * backlog of its group on the ingress stream and the ingress streams' figures; and the live
 * members. `strata status`, `/api/overview` and the dashboard show it; any engine (or none)
 * can be asked, as everything comes from Redis. One Redis TIME reading dates every stream.
 * Reads only: takes no lease, renews nobody, decides nothing, reads no PostgreSQL.
 */
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { groupBacklog } from "../../streams/consumer.ts"
import { GROUPS, ingressKeys, membershipKeys, partitionKeys, routerKeys, type LeaseKeys, type PartitionKeys } from "../../streams/keys.ts"
import { readLease } from "../../streams/lease.ts"
import { readMembers } from "../../streams/membership.ts"
import { recordOf, redisTimeMs, streamFigures, type StreamFigures, type TrimPlan } from "../../streams/trim.ts"
import { ingressTrimPlan, trimPlan } from "../../streams/trim-plan.ts"

/** A lease's holder as Redis has it; every field null while nobody holds it. */
export interface HolderView {
  readonly owner: string | null
  readonly epoch: number | null
  /** Redis TIME (ms) at which the holder took the lease. */
  readonly sinceMs: number | null
}

export interface PartitionView extends HolderView {
  readonly partition: number
  /**
   * Entries of the partition's scores streams (router-filled and direct) the engine group
   * has not acknowledged (pending + unread); null before the group exists on either.
   */
  readonly lag: number | null
  readonly streams: readonly StreamFigures[]
}

export interface RouterView extends HolderView {
  /** Entries of the ingress stream the router's group has not acknowledged; null before the group exists. */
  readonly lag: number | null
  readonly streams: readonly StreamFigures[]
}

export interface MemberView {
  readonly id: string
  /** Redis TIME (ms): when the membership began, and when it ends unless renewed. */
  readonly sinceMs: number
  readonly endsMs: number
  readonly founding: boolean
}

export interface InstallView {
  /** Redis TIME (ms) of the reading. */
  readonly nowMs: number
  readonly count: number
  readonly members: readonly MemberView[]
  readonly router: RouterView
  readonly partitions: readonly PartitionView[]
}

type Settings = Pick<Config, "redis" | "streams" | "archive" | "partitions">

const holderOf = async (redis: Redis, keys: LeaseKeys): Promise<HolderView> => {
  const l = await readLease(redis, keys)
  return l === undefined ? { owner: null, epoch: null, sinceMs: null } : { owner: l.owner, epoch: Number(l.epoch), sinceMs: l.sinceMs }
}

const figuresOf = (redis: Redis, plan: TrimPlan, nowMs: number): Promise<StreamFigures[]> =>
  Promise.all(plan.targets.map((t) => streamFigures(redis, t, recordOf(plan, t), nowMs)))

const lagOf = async (redis: Redis, stream: string, group: string): Promise<number | null> => (await groupBacklog(redis, stream, group)) ?? null

/** The engine group's backlog over the partition's scores streams: the router-filled one and the direct one. */
const inputLag = async (redis: Redis, keys: PartitionKeys): Promise<number | null> => {
  const each = await Promise.all([keys.scores, keys.scoresDirect].map((s) => lagOf(redis, s, GROUPS.engine)))
  return each.every((v) => v === null) ? null : each.reduce<number>((a, v) => a + (v ?? 0), 0)
}

/** One partition's holder, lag and stream figures (`nowMs`: Redis TIME, one reading for all). */
export const partitionView = async (redis: Redis, config: Settings, partition: number, nowMs: number): Promise<PartitionView> => {
  const keys = partitionKeys(config.redis.prefix, partition, config.partitions)
  const [holder, lag, streams] = await Promise.all([
    holderOf(redis, keys), inputLag(redis, keys), figuresOf(redis, trimPlan(config, partition), nowMs)
  ])
  return { partition, ...holder, lag, streams }
}

/** The router's holder, the ingress lag and the ingress streams' figures. */
export const routerView = async (redis: Redis, config: Settings, nowMs: number): Promise<RouterView> => {
  const [holder, lag, streams] = await Promise.all([
    holderOf(redis, routerKeys(config.redis.prefix)),
    lagOf(redis, ingressKeys(config.redis.prefix).scores, GROUPS.router),
    figuresOf(redis, ingressTrimPlan(config), nowMs)
  ])
  return { ...holder, lag, streams }
}

/** The whole install: members, router and every partition. */
export const installView = async (redis: Redis, config: Settings): Promise<InstallView> => {
  const nowMs = await redisTimeMs(redis)
  const [members, router, partitions] = await Promise.all([
    readMembers(redis, membershipKeys(config.redis.prefix)),
    routerView(redis, config, nowMs),
    Promise.all(Array.from({ length: config.partitions }, (_, p) => partitionView(redis, config, p, nowMs)))
  ])
  return {
    nowMs, count: config.partitions, router, partitions,
    members: members.members.map((m) => ({ id: m.id, sinceMs: m.sinceMs, endsMs: members.endsMs[m.id] ?? 0, founding: m.founding }))
  }
}
