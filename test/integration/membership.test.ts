/**
 * Membership keepers on the real Redis: engines of one install settle on a disjoint cover
 * of every partition, a member that stops heartbeating disappears after its TTL and its
 * partitions go to the others, leaving removes a member at once, a member that joins late
 * gets only its rendezvous share and only after the join debounce, and a keeper that cannot
 * reach Redis gives up everything once its membership may have lapsed.
 * Each keeper stands for an engine that holds exactly what its plans said.
 */
import { Effect, Fiber } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { MembershipKeeper } from "../../src/engine/membership.ts"
import type { PartitionPlan } from "../../src/engine/partition-plan.ts"
import { partitionsOf } from "../../src/engine/rendezvous.ts"
import { createLogger } from "../../src/services/logger.ts"
import { pollUntil } from "../../src/services/poll.ts"
import { openRedis, type Redis } from "../../src/services/redis.ts"
import { membershipKeys } from "../../streams/keys.ts"
import type { MembershipView } from "../../streams/membership.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const COUNT = 12
const TTL = 600
const log = createLogger("test-membership", process.env["LOG_LEVEL"] ?? "silent")

interface Engine {
  readonly id: string
  readonly keeper: MembershipKeeper
  readonly held: Set<number>
  readonly plans: { plan: PartitionPlan; view: MembershipView | undefined }[]
  fiber?: Fiber.Fiber<never>
}

let ns: TestNamespace
const extra: Redis[] = []
const running: Engine[] = []

beforeEach(async () => {
  ns = await testNamespace()
})
afterEach(async () => {
  for (const e of running.splice(0)) if (e.fiber !== undefined) await Effect.runPromise(Fiber.interrupt(e.fiber))
  for (const r of extra.splice(0)) r.disconnect()
  await ns.cleanup()
})

const engine = (id: string, debounceMs: number, redis: Redis = ns.redis): Engine => {
  const held = new Set<number>()
  const plans: Engine["plans"] = []
  const keeper = new MembershipKeeper({
    redis, prefix: ns.prefix, owner: id, count: COUNT, ttlMs: TTL, debounceMs, log,
    held: () => held,
    onPlan: (plan, view) => {
      plans.push({ plan, view })
      for (const p of plan.release) held.delete(p)
      for (const p of plan.take) held.add(p)
    }
  })
  return { id, keeper, held, plans }
}
const start = (e: Engine): Engine => {
  e.fiber = Effect.runFork(e.keeper.run)
  running.push(e)
  return e
}
const stop = async (e: Engine) => {
  if (e.fiber !== undefined) await Effect.runPromise(Fiber.interrupt(e.fiber))
}
const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b)
/** The engines hold a disjoint cover of every partition, each its rendezvous share among `ids`. */
const settled = (engines: readonly Engine[], ids = engines.map((e) => e.id)) =>
  engines.every((e) => sorted(e.held).join() === partitionsOf(e.id, ids, COUNT).join())
const memberIds = async () => (await ns.redis.zrange(membershipKeys(ns.prefix).members, "0", "-1")).sort()

describe("engine membership", () => {
  it("settles engines started together on a disjoint cover of every partition", async () => {
    const engines = ["engine-a", "engine-b", "engine-c"].map((id) => start(engine(id, 300)))
    await pollUntil("three engines to hold their shares", () => settled(engines), 20_000)
    const all = engines.flatMap((e) => sorted(e.held)).sort((a, b) => a - b)
    expect(all).toEqual(Array.from({ length: COUNT }, (_, p) => p))
    expect(await memberIds()).toEqual(["engine-a", "engine-b", "engine-c"])
  })

  it("drops a member that stops heartbeating after its TTL and gives its partitions to the others", async () => {
    const [a, b, c] = ["engine-a", "engine-b", "engine-c"].map((id) => start(engine(id, 300))) as [Engine, Engine, Engine]
    await pollUntil("three engines to hold their shares", () => settled([a, b, c]), 20_000)
    await stop(c)
    await pollUntil("engine-c to leave the members by its TTL", async () => !(await memberIds()).includes("engine-c"), 20_000)
    await pollUntil("engine-a and engine-b to hold every partition", () => settled([a, b]), 20_000)
    expect(a.keeper.view?.members.map((m) => m.id)).not.toContain("engine-c")
  })

  it("removes a member that leaves at once", async () => {
    const [a, b] = ["engine-a", "engine-b"].map((id) => start(engine(id, 300))) as [Engine, Engine]
    await pollUntil("two engines to hold their shares", () => settled([a, b]), 20_000)
    // Left while its heartbeat loop still runs: the loop must not make it a member again.
    expect(await b.keeper.leave()).toBe(true)
    expect(await memberIds()).toEqual(["engine-a"])
    await Effect.runPromise(b.keeper.tick)
    expect(await memberIds()).toEqual(["engine-a"])
    await Effect.runPromise(a.keeper.tick)
    expect(a.keeper.view?.members.map((m) => m.id)).toEqual(["engine-a"])
    expect(sorted(a.held)).toEqual(Array.from({ length: COUNT }, (_, p) => p))
  })

  it("gives a member that joins later only its rendezvous share, after the join debounce", async () => {
    const debounce = 1500
    const [a, b] = ["engine-a", "engine-b"].map((id) => start(engine(id, debounce))) as [Engine, Engine]
    await pollUntil("two engines to hold their shares", () => settled([a, b]), 20_000)
    // Both settled: a later member is not founding.
    await pollUntil("engine-a and engine-b to be settled", () => {
      const v = a.keeper.view
      return v !== undefined && v.members.every((m) => m.sinceMs + debounce <= v.nowMs)
    }, 20_000)
    const before = { a: sorted(a.held), b: sorted(b.held) }
    const d = start(engine("engine-d", debounce))
    await pollUntil("engine-d to hold its share", () => settled([a, b, d]), 20_000)

    // Its first heartbeat made it a member at that very Redis TIME: still joining.
    const first = d.plans[0]
    const self = first?.view?.members.find((m) => m.id === "engine-d")
    expect(self?.founding).toBe(false)
    expect(self?.sinceMs).toBe(first?.view?.nowMs)
    // While joining it was given nothing, and nobody gave anything up for it.
    for (const { plan, view } of d.plans) {
      const since = view?.members.find((m) => m.id === "engine-d")?.sinceMs ?? 0
      if (view !== undefined && since + debounce > view.nowMs) expect(plan.desired).toEqual([])
    }
    for (const e of [a, b]) {
      for (const { plan, view } of e.plans) {
        const joiner = view?.members.find((m) => m.id === "engine-d")
        if (view !== undefined && joiner !== undefined && joiner.sinceMs + debounce > view.nowMs) expect(plan.release).toEqual([])
      }
    }
    // Only partitions moved to engine-d, and only its share.
    expect(sorted(d.held)).toEqual(partitionsOf("engine-d", ["engine-a", "engine-b", "engine-d"], COUNT))
    for (const [e, was] of [[a, before.a], [b, before.b]] as const) {
      for (const p of was) expect(e.held.has(p) || d.held.has(p), `partition ${p} of ${e.id}`).toBe(true)
      for (const p of e.held) expect(was).toContain(p)
    }
  })

  it("gives up every partition once its membership may have lapsed, and the others take them", async () => {
    const own = openRedis(ns.redisUrl, "test-membership-lapse")
    own.on("error", () => undefined)
    extra.push(own)
    const a = start(engine("engine-a", 300))
    const b = start(engine("engine-b", 300, own))
    await pollUntil("two engines to hold their shares", () => settled([a, b]), 20_000)
    // engine-b's connection is gone for good: its heartbeats fail from now on.
    own.disconnect()
    await pollUntil("engine-b to give up its partitions", () => b.held.size === 0, 20_000)
    const lapse = b.plans.at(-1)
    expect(lapse?.view).toBeUndefined()
    expect(lapse?.plan.take).toEqual([])
    expect(b.keeper.heartbeatFailures).toBeGreaterThan(0)
    await pollUntil("engine-a to hold every partition", () => settled([a]), 20_000)
  })
})
