/**
 * The plan applier without Redis: offering returns at once however long a plan takes to
 * act on, plans are applied one at a time in order, and of those waiting only the newest;
 * a plan that fails is counted, and /metrics reads that count.
 */
import { Deferred, Effect, Exit, Scope } from "effect"
import { Registry } from "prom-client"
import { describe, expect, it } from "vitest"
import type { PartitionPlan } from "../../src/engine/partition-plan.ts"
import { planApplier } from "../../src/engine/plan-applier.ts"
import { planFailureMetric } from "../../src/http/partitioned-metrics.ts"
import { createLogger } from "../../src/services/logger.ts"
import { pollUntil } from "../../src/services/poll.ts"

const plan = (take: number): PartitionPlan => ({ take: [take], release: [], desired: [take] })

describe("plan applier", () => {
  it("returns from offer at once, applies one plan at a time, and skips plans a newer one superseded", async () => {
    const scope = Effect.runSync(Scope.make())
    const gate = Effect.runSync(Deferred.make<void>())
    const started: number[] = []
    const finished: number[] = []
    let running = 0
    let overlapped = false
    const applier = await Effect.runPromise(Scope.provide(scope)(planApplier((p) => Effect.gen(function* () {
      const n = p.take[0] as number
      overlapped ||= running > 0
      running++
      started.push(n)
      if (n === 1) yield* Deferred.await(gate)
      finished.push(n)
      running--
    }), createLogger("test-plan-applier", "silent"))))
    await applier.offer(plan(1))
    await pollUntil("the first plan is under way", () => started.length === 1, 5_000)
    // The first plan is held up: these return anyway, and only the last of them waits.
    for (const n of [2, 3, 4]) await applier.offer(plan(n))
    expect(finished).toEqual([])
    Effect.runSync(Deferred.succeed(gate, undefined))
    await pollUntil("the newest plan applied", () => finished.includes(4), 5_000)
    expect(started).toEqual([1, 4])
    expect(finished).toEqual([1, 4])
    expect(overlapped).toBe(false)
    expect(applier.failures()).toBe(0)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it("counts a plan that fails and applies the next one", async () => {
    const scope = Effect.runSync(Scope.make())
    const applied: number[] = []
    const applier = await Effect.runPromise(Scope.provide(scope)(planApplier((p) => Effect.sync(() => {
      if (p.take[0] === 1) throw new Error("boom")
      applied.push(p.take[0] as number)
    }), createLogger("test-plan-applier", "silent"))))
    await applier.offer(plan(1))
    await pollUntil("the failure counted", () => applier.failures() === 1, 5_000)
    const registry = new Registry()
    planFailureMetric(registry, applier.failures)
    expect((await registry.getSingleMetric("strata_partition_plan_failures_total")?.get())?.values.map((v) => v.value)).toEqual([1])
    await applier.offer(plan(2))
    await pollUntil("the next plan applied", () => applied.includes(2), 5_000)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })
})
