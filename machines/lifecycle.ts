/**
 * The per-symbol lifecycle as one XState v5 machine: states unqualified, L1, L2, L3;
 * thresholds injected from config. It is the one definition of the lifecycle; `Lifecycle`
 * steps an actor either with XState's own `machine.transition` ("xstate") or with the
 * pure step written from the same rules (pure-step.ts, "pure"; proven equal by
 * test/unit/pure-step.test.ts). Either way the engine, replay and the bench hold an actor
 * as `{layer, context}`, its stored shape, so both steps share everything else.
 * Imports xstate and domain types only: no Redis, no SQL, no wall clock.
 */
import { assign, createActor, setup, type SnapshotFrom } from "xstate"
import { LAYER_NAMES, layerOfName, type Layer, type LayerName } from "../src/domain/layers.ts"
import { createPureStep, type StepOutcome } from "./pure-step.ts"
import { decideAt, newVerdict, staleDeadline, type Decision, type LifecycleInput, type LifecycleRules } from "./rules.ts"
import type { LifecycleContext, PersistedActor } from "./snapshot-codec.ts"

export type { LifecycleContext, PersistedActor } from "./snapshot-codec.ts"
export { persistedLayer } from "./snapshot-codec.ts"

export const initialContext = (): LifecycleContext => ({
  scores: {}, streak: [], enteredAt: null, lastAt: null, lastCause: null, late: 0
})

export const createLifecycleMachine = (rules: LifecycleRules) => {
  // Guards of one state each ask the same question of the same event: answer it once.
  let memoContext: LifecycleContext | undefined
  let memoEvent: LifecycleInput | undefined
  let memoLayer: Layer = 0
  let memo: Decision = { kind: "late" }
  const verdict = newVerdict()
  const decision = (layer: Layer, context: LifecycleContext, event: LifecycleInput): Decision => {
    if (context !== memoContext || event !== memoEvent || layer !== memoLayer) {
      memo = decideAt(layer, context, event, rules, verdict)
      memoContext = context
      memoEvent = event
      memoLayer = layer
    }
    return memo
  }

  const machine = setup({
    types: {} as { context: LifecycleContext; events: LifecycleInput },
    guards: {
      isLate: ({ context, event }, p: { from: Layer }) => decision(p.from, context, event).kind === "late",
      stays: ({ context, event }, p: { from: Layer }) => decision(p.from, context, event).kind === "stay",
      movesTo: ({ context, event }, p: { from: Layer; to: Layer }) => {
        const d = decision(p.from, context, event)
        return d.kind === "move" && d.to === p.to
      }
    },
    actions: {
      countLate: assign({ late: ({ context }) => context.late + 1 }),
      apply: assign(({ context, event }, p: { from: Layer }) => {
        const d = decision(p.from, context, event)
        return d.kind === "late" ? context : d.next
      })
    }
  }).createMachine({
    id: "lifecycle",
    initial: "unqualified",
    context: initialContext,
    states: Object.fromEntries(
      LAYER_NAMES.map((name, from) => {
        // A score and a stale event go through the same rules (decideAt tells them apart).
        const transitions = [
          { guard: { type: "isLate", params: { from: from as Layer } }, actions: "countLate" },
          ...LAYER_NAMES.flatMap((target, to) =>
            to === from
              ? []
              : [{
                  guard: { type: "movesTo", params: { from: from as Layer, to: to as Layer } },
                  target,
                  actions: { type: "apply", params: { from: from as Layer } }
                }]
          ),
          { actions: { type: "apply", params: { from: from as Layer } } }
        ]
        return [name, { on: { score: transitions, stale: transitions } }]
      })
    ) as Record<LayerName, object>
  })
  return machine
}

export type LifecycleMachine = ReturnType<typeof createLifecycleMachine>
export type LifecycleSnapshot = SnapshotFrom<LifecycleMachine>

/** How an actor is stepped: XState's `machine.transition`, or the pure step of the same rules. */
export type StepKind = "xstate" | "pure"

/** An actor as the engine holds it: its layer and context (the stored shape, snapshot-codec.ts). */
export type LifecycleState = PersistedActor

/**
 * What one step did. A step may return the same result object each time (the pure one
 * does): read it, or copy what you keep, before the next step of the same Lifecycle.
 */
export type StepResult = StepOutcome

/** A machine with the operations the engine, replay and bench share. */
export interface Lifecycle {
  readonly kind: StepKind
  readonly machine: LifecycleMachine
  readonly rules: LifecycleRules
  readonly initial: () => LifecycleState
  readonly step: (state: LifecycleState, event: LifecycleInput) => StepResult
  /** The stream time from which a stale event demotes this actor (rules.ts `staleDeadline`). */
  readonly staleDeadline: (state: LifecycleState) => number | undefined
  /** XState's snapshot of an actor (for tests and tools that speak XState). */
  readonly snapshotOf: (state: LifecycleState) => LifecycleSnapshot
}

/**
 * The actor scope every step runs in. XState's `transition()` builds a throwaway actor
 * (with its own system) per call just to serve as this scope; this machine spawns no child
 * and has no side-effect action (only `assign`), so one inert scope serves every step and
 * XState's own `machine.transition` (its macrostep) still computes each one.
 */
const inertScope = (machine: LifecycleMachine): Parameters<LifecycleMachine["transition"]>[2] => {
  const self = createActor(machine)
  const scope = {
    self, id: "", sessionId: "", system: self.system,
    logger: () => {}, defer: () => {}, emit: () => {}, stopChild: () => {}, actionExecutor: () => {}
  }
  return scope as unknown as Parameters<LifecycleMachine["transition"]>[2]
}

/**
 * An actor of the XState path: its state with the XState snapshot it came from, so that
 * consecutive steps do not rebuild one. A state without it (initial, read from Redis, or
 * made elsewhere) is resolved into a snapshot on its first step.
 */
class XStateActor implements PersistedActor {
  constructor(readonly layer: Layer, readonly context: LifecycleContext, readonly snapshot: LifecycleSnapshot) {}
}

export const createLifecycle = (rules: LifecycleRules, kind: StepKind = "pure"): Lifecycle => {
  const machine = createLifecycleMachine(rules)
  const snapshotOf = (p: LifecycleState): LifecycleSnapshot =>
    p instanceof XStateActor ? p.snapshot : machine.resolveState({ value: LAYER_NAMES[p.layer], context: p.context })
  const initialContextValue = initialContext()
  const pureInitial: LifecycleState = { layer: 0, context: initialContextValue }
  const base = { machine, rules, snapshotOf, staleDeadline: (p: LifecycleState) => staleDeadline(p.layer, p.context, rules) }
  if (kind === "pure") {
    return { ...base, kind, initial: () => pureInitial, step: createPureStep(rules) }
  }
  const initialSnapshot = snapshotOf(pureInitial)
  const xstateInitial = new XStateActor(0, initialSnapshot.context, initialSnapshot)
  const scope = inertScope(machine)
  return {
    ...base,
    kind,
    initial: () => xstateInitial,
    step: (state, event) => {
      const before = snapshotOf(state)
      const next = machine.transition(before, event, scope)
      const to = layerOfName(next.value as string)
      return { state: new XStateActor(to, next.context, next), from: state.layer, to, late: next.context.late !== before.context.late }
    }
  }
}
