/**
 * The lifecycle step without XState: the same rules the machine's guards and actions ask
 * (rules.ts `judge`), applied to an actor's state in its stored shape, `{layer, context}`
 * (snapshot-codec.ts `PersistedActor`). The machine in lifecycle.ts stays the one
 * definition of the lifecycle; this is what its `transition()` computes, written out:
 *
 *   late event   → same layer, the context with `late + 1` (the machine's `countLate`)
 *   move to k    → layer k, the rules' new context (a guarded transition's `apply`)
 *   otherwise    → same layer, the rules' new context (the catch-all `apply`)
 *
 * test/unit/pure-step.test.ts proves it equal to XState's own `transition()` over random
 * rules, events and batch cuts. Per event it allocates the new context and the new state
 * (and new scores or streak where they change), nothing else: the verdict is one reused
 * record, and the result one reused object. Imports the rules only: no xstate, no I/O.
 */
import type { Layer } from "../src/domain/layers.ts"
import { judge, newVerdict, type LifecycleInput, type LifecycleRules } from "./rules.ts"
import type { PersistedActor } from "./snapshot-codec.ts"

/** What one step did: the state after it, the layers before and after, and whether the event was late. */
export interface StepOutcome {
  readonly state: PersistedActor
  readonly from: Layer
  readonly to: Layer
  readonly late: boolean
}

/**
 * A step function over `rules`. Its result is one object, rewritten by the next call:
 * read it (or copy what you keep) before stepping again.
 */
export const createPureStep = (rules: LifecycleRules): ((state: PersistedActor, event: LifecycleInput) => StepOutcome) => {
  const verdict = newVerdict()
  const result = { state: undefined as unknown as PersistedActor, from: 0 as Layer, to: 0 as Layer, late: false }
  return (state, event) => {
    const c = state.context
    judge(state.layer, c, event, rules, verdict)
    result.from = state.layer
    if (verdict.kind === "late") {
      result.state = {
        layer: state.layer,
        context: { scores: c.scores, streak: c.streak, enteredAt: c.enteredAt, lastAt: c.lastAt, lastCause: c.lastCause, late: c.late + 1 }
      }
      result.to = state.layer
      result.late = true
      return result
    }
    result.state = {
      layer: verdict.to,
      context: { scores: verdict.scores, streak: verdict.streak, enteredAt: verdict.enteredAt, lastAt: event.at, lastCause: event.cause, late: c.late }
    }
    result.to = verdict.to
    result.late = false
    return result
  }
}
