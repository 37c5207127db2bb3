/**
 * The membership scripts on the real Redis: join times and expiry on Redis TIME, the
 * founding mark (members that joined while nobody was settled, and everyone left when no
 * member counts), a new membership after an expired one, and leaving.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { pollUntil } from "../../src/services/poll.ts"
import { membershipKeys } from "../../streams/keys.ts"
import { heartbeat, leave, type MembershipView } from "../../streams/membership.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

let ns: TestNamespace
beforeEach(async () => {
  ns = await testNamespace()
})
afterEach(async () => {
  await ns.cleanup()
})

const LONG = 60_000
const beat = (owner: string, ttlMs = LONG, debounceMs = 200) => heartbeat(ns.redis, membershipKeys(ns.prefix), owner, ttlMs, debounceMs)
const of = (v: MembershipView, id: string) => v.members.find((m) => m.id === id)
/** Heartbeat `owner` until Redis TIME is `ms` past the join time of `id`. */
const beatUntilPast = async (owner: string, id: string, ms: number, ttlMs = LONG) => {
  await pollUntil(`${ms} ms of Redis TIME past ${id}'s join`, async () => {
    const v = await beat(owner, ttlMs)
    return v.nowMs >= (of(v, id)?.sinceMs ?? Infinity) + ms
  }, 20_000, 20)
}

describe("membership scripts", () => {
  it("records the join time on Redis' clock and keeps it across renewals", async () => {
    const first = await beat("a")
    expect(first.members).toEqual([{ id: "a", sinceMs: first.nowMs, founding: true }])
    const again = await beat("a")
    expect(again.nowMs).toBeGreaterThanOrEqual(first.nowMs)
    expect(of(again, "a")?.sinceMs).toBe(first.nowMs)
    const [, score] = await ns.redis.zrange(membershipKeys(ns.prefix).members, "0", "-1", "WITHSCORES")
    expect(Number(score)).toBe(again.nowMs + LONG)
  })

  it("marks members that join while nobody is settled founding, and later ones not", async () => {
    await beat("a")
    expect(of(await beat("b"), "b")?.founding).toBe(true)
    await beatUntilPast("a", "a", 200)
    const v = await beat("c")
    expect(of(v, "c")).toEqual({ id: "c", sinceMs: v.nowMs, founding: false })
    expect(of(v, "a")?.founding).toBe(true)
  })

  it("removes a member whose TTL ran out, and a returning one starts a new membership", async () => {
    await beat("short", 150)
    const first = of(await beat("a"), "short")
    await pollUntil("the short member to expire", async () => of(await beat("a"), "short") === undefined, 20_000, 20)
    expect(await ns.redis.hexists(membershipKeys(ns.prefix).since, "short")).toBe(0)
    const back = await beat("short", 150)
    expect(of(back, "short")?.sinceMs).toBe(back.nowMs)
    expect(of(back, "short")?.sinceMs).toBeGreaterThan(first?.sinceMs ?? Infinity)
  })

  it("marks everyone founding when no live member counts any more", async () => {
    const debounce = 2000
    await beat("old", LONG, debounce)
    await pollUntil("old to settle", async () => {
      const v = await beat("old", LONG, debounce)
      return v.nowMs >= (of(v, "old")?.sinceMs ?? Infinity) + debounce
    }, 20_000, 50)
    // "young" joins beside a settled member: not founding.
    expect(of(await beat("young", LONG, debounce), "young")?.founding).toBe(false)
    // "old" stops: its last renewal ends its membership a millisecond later.
    await beat("old", 1, debounce)
    await pollUntil("old to expire", async () => of(await beat("young", LONG, debounce), "old") === undefined, 20_000, 5)
    // Nobody left is settled or founding, so the script marked "young".
    const v = await beat("young", LONG, debounce)
    expect(of(v, "young")?.sinceMs ?? 0).toBeGreaterThan(v.nowMs - debounce)
    expect(of(v, "young")?.founding).toBe(true)
  })

  it("ends a membership at once on leave", async () => {
    await beat("a")
    await beat("b")
    expect(await leave(ns.redis, membershipKeys(ns.prefix), "b")).toBe(true)
    expect(await leave(ns.redis, membershipKeys(ns.prefix), "b")).toBe(false)
    expect((await beat("a")).members.map((m) => m.id)).toEqual(["a"])
    expect(await ns.redis.sismember(membershipKeys(ns.prefix).founding, "b")).toBe(0)
  })

  it("lets the keys expire with the last membership", async () => {
    const v = await beat("a", 5_000)
    for (const key of Object.values(membershipKeys(ns.prefix))) expect(await ns.redis.pexpiretime(key), key).toBe(v.nowMs + 5_000)
  })
})
