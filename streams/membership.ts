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

/** End `owner`'s membership now; true when it was a member. */
export const leave = async (redis: Redis, keys: MembershipKeys, owner: string): Promise<boolean> =>
  (await defineMembership(redis).strataMembersLeave(keys.members, keys.since, keys.founding, owner)) === 1
