/**
 * A membership keeper whose plans are acted on by the plan applier, on the real Redis: an
 * engine that takes longer than the membership's TTL to act on a plan (starting a
 * partition on a loaded machine, say) keeps heartbeating meanwhile, so its membership
 * never ends and it is never made to wait out a join debounce again.
 */
import { Deferred, Effect, Exit, Scope } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { MembershipKeeper } from "../../src/engine/membership.ts"
import { planApplier } from "../../src/engine/plan-applier.ts"
import { createLogger } from "../../src/services/logger.ts"
import { pollUntil } from "../../src/services/poll.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const COUNT = 6
const TTL = 600
const log = createLogger("test-plan-applier", process.env["LOG_LEVEL"] ?? "silent")

describe("acting on partition plans off the heartbeat", () => {
  let ns: TestNamespace
  let scope: Scope.Closeable
  beforeEach(async () => {
    ns = await testNamespace()
    scope = Effect.runSync(Scope.make())
  })
  afterEach(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await ns.cleanup()
  })

  it("keeps the membership while a plan takes longer than its TTL to act on", async () => {
    const gate = Effect.runSync(Deferred.make<void>())
    const held = new Set<number>()
    let plans = 0
    const applier = await Effect.runPromise(Scope.provide(scope)(planApplier((plan) => Effect.gen(function* () {
      // The first plan takes this engine's partitions, and is held up far past the TTL.
      if (plans++ === 0) yield* Deferred.await(gate)
      for (const p of plan.release) held.delete(p)
      for (const p of plan.take) held.add(p)
    }), log)))
    const keeper = new MembershipKeeper({
      redis: ns.redis, prefix: ns.prefix, owner: "engine-a", count: COUNT, ttlMs: TTL, debounceMs: 300, log,
      held: () => held, onPlan: applier.offer
    })
    Effect.runFork(Scope.provide(scope)(Effect.forkScoped(keeper.run)))
    await pollUntil("the first plan to be under way", () => plans === 1, 20_000)
    const self = () => keeper.view?.members.find((m) => m.id === "engine-a")
    const since = self()?.sinceMs
    const from = keeper.view?.nowMs ?? 0
    expect(since).toBeDefined()
    // Heartbeats go on (Redis' clock moves on in their replies) while the plan is held up.
    await pollUntil("heartbeats over three TTLs while the plan is held up", () => (keeper.view?.nowMs ?? 0) > from + 3 * TTL, 30_000)
    expect(held.size).toBe(0)
    Effect.runSync(Deferred.succeed(gate, undefined))
    await pollUntil("every partition held", () => held.size === COUNT, 20_000)
    // The same membership all along: it never ended and began again.
    expect(self()?.sinceMs).toBe(since)
    expect(keeper.heartbeatFailures).toBe(0)
    expect(applier.failures()).toBe(0)
  })
})
