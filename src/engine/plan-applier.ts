/**
 * Acting on partition plans off the membership's heartbeat. `offer(plan)` returns at once;
 * one fiber of its own applies the plans one after another, and of those that wait only
 * the newest: a plan superseded while another was being applied is dropped, since the next
 * one was planned from what was held later, and taking or releasing is idempotent (a
 * partition held is not taken again, one not held is not released).
 * Why off the heartbeat: taking a partition starts it (opens its connections, reads its
 * actors and pending entries back), which takes seconds on a loaded machine or a Cluster,
 * and a heartbeat held up past the membership's TTL ends the membership: the engine then
 * gives up every partition it holds and takes any again only after the join debounce.
 * Each plan is applied uninterruptibly, so a shutdown waits for a take under way instead
 * of leaving a lease taken with nothing running its partition. A plan that fails (a
 * defect: taking and releasing report their own failures) is logged and counted, and the
 * next heartbeat's plan is applied as usual.
 * Does not plan (partition-plan.ts) and does not take or release by itself (the runner does).
 */
import { Cause, Effect, Queue, type Scope } from "effect"
import type { Logger } from "../services/logger.ts"
import type { PartitionPlan } from "./partition-plan.ts"

export interface PlanApplier {
  /** Hand a plan over: it is applied after the one under way, unless a newer one comes first. */
  readonly offer: (plan: PartitionPlan) => Promise<void>
  /** Plans whose application failed. */
  readonly failures: () => number
}

/** An applier running on a fiber of the enclosing scope (stopped when the scope closes). */
export const planApplier = (apply: (plan: PartitionPlan) => Effect.Effect<void>, log: Logger): Effect.Effect<PlanApplier, never, Scope.Scope> =>
  Effect.gen(function* () {
    const plans = yield* Queue.sliding<PartitionPlan>(1)
    let failures = 0
    const applyOne = (plan: PartitionPlan) => Effect.uninterruptible(apply(plan)).pipe(
      Effect.catchCause((cause) => Effect.sync(() => {
        failures += 1
        log.error({ err: Cause.pretty(cause), failures }, "the engine could not act on the partition plan; acting on the next heartbeat's plan")
      }))
    )
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(plans), applyOne)))
    return {
      offer: (plan) => Effect.runPromise(Queue.offer(plans, plan)).then(() => undefined),
      failures: () => failures
    }
  })
