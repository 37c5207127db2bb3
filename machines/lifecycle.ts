/**
 * The per-symbol lifecycle as one XState v5 machine: states unqualified, L1, L2, L3;
 * thresholds injected from config. Transitions are computed with XState's pure
 * `transition(machine, snapshot, event)`, so the same machine runs live, in replay and in
 * the bench, and a snapshot is a plain value that can be persisted and restored.
 * Imports xstate and domain types only: no Redis, no SQL, no wall clock.
 */
import { assign, createActor, setup, type SnapshotFrom } from "xstate"
import { LAYER_NAMES, layerOfName, type Layer, type LayerName } from "../src/domain/layers.ts"
import { decideAt, staleDeadline, type Decision, type LifecycleInput, type LifecycleRules } from "./rules.ts"
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
  const decision = (layer: Layer, context: LifecycleContext, event: LifecycleInput): Decision => {
    if (context !== memoContext || event !== memoEvent || layer !== memoLayer) {
      memo = decideAt(layer, context, event, rules)
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

export interface StepResult {
  readonly snapshot: LifecycleSnapshot
  readonly from: Layer
  readonly to: Layer
  readonly late: boolean
}

/** A machine with the operations the engine, replay and bench share. */
export interface Lifecycle {
  readonly machine: LifecycleMachine
  readonly rules: LifecycleRules
  readonly initial: () => LifecycleSnapshot
  readonly step: (snapshot: LifecycleSnapshot, event: LifecycleInput) => StepResult
  readonly layerOf: (snapshot: LifecycleSnapshot) => Layer
  readonly persist: (snapshot: LifecycleSnapshot) => PersistedActor
  readonly restore: (persisted: PersistedActor) => LifecycleSnapshot
  /** The stream time from which a stale event demotes this actor (rules.ts `staleDeadline`). */
  readonly staleDeadline: (persisted: PersistedActor) => number | undefined
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

export const createLifecycle = (rules: LifecycleRules): Lifecycle => {
  const machine = createLifecycleMachine(rules)
  const layerOf = (s: LifecycleSnapshot): Layer => layerOfName(s.value as string)
  const restore = (p: PersistedActor): LifecycleSnapshot =>
    machine.resolveState({ value: LAYER_NAMES[p.layer], context: p.context })
  const initialSnapshot = restore({ layer: 0, context: initialContext() })
  const scope = inertScope(machine)
  return {
    machine,
    rules,
    initial: () => initialSnapshot,
    step: (snapshot, event) => {
      const next = machine.transition(snapshot, event, scope)
      return {
        snapshot: next,
        from: layerOf(snapshot),
        to: layerOf(next),
        late: next.context.late !== snapshot.context.late
      }
    },
    layerOf,
    persist: (s) => ({ layer: layerOf(s), context: s.context }),
    restore,
    staleDeadline: (p) => staleDeadline(p.layer, p.context, rules)
  }
}
