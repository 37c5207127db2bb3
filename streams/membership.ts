/**
 * Membership of an install in Redis: which engine processes (by owner id, lease.ts
 * newOwnerId) are alive, since when, on Redis' clock alone. A heartbeat makes the caller a
 * member, or renews it, for a TTL; a member whose TTL ran out is removed by the next
 * heartbeat of anyone; leaving removes the caller at once. Each heartbeat answers with the
 * Redis TIME it ran at and the live members, which is all the partition plan needs.
 * Does not loop, sleep or log, and decides nothing about partitions (src/engine does).
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import type { MembershipKeys } from "./keys.ts"

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8")
const HEARTBEAT = lua("members-heartbeat-3.lua")
const LEAVE = lua("members-leave-3.lua")

type WithMembership = Redis & {
  strataMembersHeartbeat(members: string, since: string, founding: string, owner: string, ttlMs: number, debounceMs: number): Promise<(string | number)[]>
  strataMembersLeave(members: string, since: string, founding: string, owner: string): Promise<number>
}

const defineMembership = (redis: Redis): WithMembership => {
  if (!("strataMembersHeartbeat" in redis)) {
    redis.defineCommand("strataMembersHeartbeat", { numberOfKeys: 3, lua: HEARTBEAT })
    redis.defineCommand("strataMembersLeave", { numberOfKeys: 3, lua: LEAVE })
  }
  return redis as WithMembership
}

export interface Member {
  /** The engine's owner id. */
  readonly id: string
  /** Redis TIME (ms) at which this membership began. */
  readonly sinceMs: number
  /** Given partitions before its join debounce: it joined while no member was settled (marked by Redis). */
  readonly founding: boolean
}

export interface MembershipView {
  /** Redis TIME (ms) of the heartbeat. */
  readonly nowMs: number
  /** The live members, the caller among them. */
  readonly members: readonly Member[]
}

/** Make `owner` a member for `ttlMs` more (Redis TIME), or renew it; the live members. */
export const heartbeat = async (redis: Redis, keys: MembershipKeys, owner: string, ttlMs: number, debounceMs: number): Promise<MembershipView> => {
  const r = await defineMembership(redis).strataMembersHeartbeat(keys.members, keys.since, keys.founding, owner, ttlMs, debounceMs)
  const members: Member[] = []
  for (let i = 1; i + 2 < r.length; i += 3) {
    members.push({ id: String(r[i]), sinceMs: Number(r[i + 1]), founding: Number(r[i + 2]) === 1 })
  }
  return { nowMs: Number(r[0]), members }
}

/**
 * The live members as Redis has them now (for operators): one transaction on the three
 * keys (one hash tag), filtered by Redis TIME; removes nothing and renews nobody.
 */
export const readMembers = async (redis: Redis, keys: MembershipKeys): Promise<MembershipView & { readonly endsMs: Readonly<Record<string, number>> }> => {
  const replies = await redis.multi().time().zrange(keys.members, "0", "-1", "WITHSCORES").hgetall(keys.since).smembers(keys.founding).exec()
  const value = (i: number): unknown => {
    const [err, v] = replies?.[i] ?? [new Error("no reply"), undefined]
    if (err) throw err
    return v
  }
  const [s, us] = value(0) as [string, string]
  const nowMs = Number(s) * 1000 + Math.floor(Number(us) / 1000)
  const ends = value(1) as string[]
  const since = value(2) as Record<string, string>
  const founding = new Set(value(3) as string[])
  const members: Member[] = []
  const endsMs: Record<string, number> = {}
  for (let i = 0; i + 1 < ends.length; i += 2) {
    const id = ends[i]!
    if (Number(ends[i + 1]) <= nowMs) continue
    members.push({ id, sinceMs: Number(since[id] ?? 0), founding: founding.has(id) })
    endsMs[id] = Number(ends[i + 1])
  }
  return { nowMs, members, endsMs }
}

/** End `owner`'s membership now; true when it was a member. */
export const leave = async (redis: Redis, keys: MembershipKeys, owner: string): Promise<boolean> =>
  (await defineMembership(redis).strataMembersLeave(keys.members, keys.since, keys.founding, owner)) === 1
