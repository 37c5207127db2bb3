/**
 * The lifecycle rules as pure functions of scores and event time (DESIGN §4):
 * promote and hold targets, confirmations, minimum dwell, staleness. The XState machine
 * in lifecycle.ts calls these from its guards and actions.
 * Knows nothing of Redis, SQL or the wall clock: staleness is measured against the
 * partition's stream time, which the caller passes in as the event's time, by a rule the
 * caller builds (in stream time, or in a calendar's market time).
 */
import type { Layer } from "../src/domain/layers.ts"

export interface LayerThreshold {
  readonly score: string
  readonly promoteAt: number
  readonly demoteBelow: number
}

export interface LifecycleRules {
  /** Thresholds of L1, L2, L3, in that order. */
  readonly layers: readonly [LayerThreshold, LayerThreshold, LayerThreshold]
  readonly confirmations: number
  readonly minDwellMs: number
  /**
   * When a symbol falls quiet: a symbol whose last score is more than lifecycle.stale_after
   * older than the stream time is treated as having no scores; null: never.
   */
  readonly quiet: QuietRule | null
}

/**
 * lifecycle.stale_after as a rule: `staleAt(lastAt)` is the first stream time at which a
 * symbol last scored at `lastAt` is stale (in stream time, or in market time: see
 * src/domain/market-time.ts); it never decreases as `lastAt` grows. `minMs` is a lower
 * bound of `staleAt(lastAt) − lastAt − 1`, so that the per-event check needs no calendar
 * while the gap is shorter.
 */
export interface QuietRule {
  readonly minMs: number
  readonly staleAt: (lastAt: number) => number
}

/** A span of stream time: stale once the stream time is more than `ms` past the last score. */
export const streamTimeQuiet = (ms: number): QuietRule => ({ minMs: ms, staleAt: (lastAt) => lastAt + ms + 1 })

/** Whether a symbol last scored at `lastAt` is stale at stream time `at`. */
const isQuiet = (rule: QuietRule, lastAt: number, at: number): boolean =>
  at - lastAt > rule.minMs && at >= rule.staleAt(lastAt)

/** Score names the rules read; the only ones an actor remembers (bounded memory). */
export const scoreNames = (rules: LifecycleRules): readonly string[] => [...new Set(rules.layers.map((l) => l.score))]

const highestLayer = (scores: Readonly<Record<string, number>>, rules: LifecycleRules, bar: "promoteAt" | "demoteBelow"): Layer => {
  let layer = 0
  for (const threshold of rules.layers) {
    const value = scores[threshold.score]
    // An unknown score qualifies for nothing; a higher layer needs every lower one.
    if (value === undefined || value < threshold[bar]) break
    layer++
  }
  return layer as Layer
}

/** Highest layer k whose score and every lower layer's score are at or above promote_at. */
export const promoteTarget = (scores: Readonly<Record<string, number>>, rules: LifecycleRules): Layer =>
  highestLayer(scores, rules, "promoteAt")

/** Highest layer k whose scores are all at or above demote_below. */
export const holdTarget = (scores: Readonly<Record<string, number>>, rules: LifecycleRules): Layer =>
  highestLayer(scores, rules, "demoteBelow")

export interface ActorState {
  readonly layer: Layer
  /** Last known value of each score the rules read. */
  readonly scores: Readonly<Record<string, number>>
  /** Promote targets of the consecutive qualifying events since the last transition (at most `confirmations`). */
  readonly streak: readonly Layer[]
  /** Event time the current layer was entered; null while never qualified. */
  readonly enteredAt: number | null
  /** Event time and cause of the last applied event. */
  readonly lastAt: number | null
  readonly lastCause: string | null
  /** Events ignored because they were older than lastAt. */
  readonly late: number
}

export interface ScoreEvent {
  readonly type: "score"
  readonly at: number
  readonly cause: string
  readonly scores: Readonly<Record<string, number>>
}

/**
 * The stream time has passed a symbol's staleness deadline: the symbol has no scores any
 * more, at `at` (the stream time). Carries no scores; `cause` names the entry that moved
 * the stream time there.
 */
export interface StaleEvent {
  readonly type: "stale"
  readonly at: number
  readonly cause: string
  readonly scores: Readonly<Record<string, never>>
}

export type LifecycleInput = ScoreEvent | StaleEvent

export type Decision =
  | { readonly kind: "late" }
  | { readonly kind: "stay"; readonly next: Omit<ActorState, "layer"> }
  | { readonly kind: "move"; readonly to: Layer; readonly next: Omit<ActorState, "layer"> }

/** What one event does to one actor. Promotion is checked before demotion. */
export const decide = (state: ActorState, event: LifecycleInput, rules: LifecycleRules): Decision =>
  decideAt(state.layer, state, event, rules)

const EMPTY: Readonly<Record<string, number>> = Object.freeze({})
const EMPTY_STREAK: readonly Layer[] = Object.freeze([])

/**
 * The earliest stream time at which a stale event demotes this actor, or undefined when
 * none can (unqualified, never scored, or staleness off): its last score must be more than
 * stale_after old, and it must have spent min_dwell in its layer, as any demotion must.
 * The engine indexes actors by this value, so that a batch finds the stale ones without
 * looking at the others.
 */
export const staleDeadline = (layer: Layer, state: Omit<ActorState, "layer">, rules: LifecycleRules): number | undefined => {
  if (rules.quiet === null || layer === 0 || state.lastAt === null) return undefined
  const quiet = rules.quiet.staleAt(state.lastAt)
  const dwell = state.enteredAt === null ? quiet : state.enteredAt + rules.minDwellMs
  return quiet > dwell ? quiet : dwell
}

/**
 * What one event does to one actor, as plain fields: `judge` fills one of these in place, so
 * the hot path allocates nothing but the new scores and streak (when they change). The
 * machine's guards read it through `decideAt`; the pure step (pure-step.ts) reads it as is.
 */
export interface Verdict {
  kind: "late" | "stay" | "move"
  /** The layer moved to (a move only). */
  to: Layer
  /** The context's new fields (not a late event). */
  scores: Readonly<Record<string, number>>
  streak: readonly Layer[]
  enteredAt: number | null
}

export const newVerdict = (): Verdict => ({ kind: "late", to: 0, scores: EMPTY, streak: EMPTY_STREAK, enteredAt: null })

/**
 * The rules for an actor in `layer` with `state`, written into `out`. Runs once per event
 * on the hot path: plain loops and literals, no spreads. The new context of a stay or a
 * move is `state` with these fields, `lastAt` and `lastCause` of the event.
 */
export const judge = (
  layer: Layer, state: Omit<ActorState, "layer">, event: LifecycleInput, rules: LifecycleRules, out: Verdict
): void => {
  if (state.lastAt !== null && event.at < state.lastAt) {
    out.kind = "late"
    return
  }
  // A stale symbol has no scores: neither what it last knew nor a streak towards a
  // promotion survive a quiet period longer than stale_after (its own next score after
  // one starts from nothing, like the stale event itself).
  const stale = event.type === "stale" ||
    (rules.quiet !== null && state.lastAt !== null && isQuiet(rules.quiet, state.lastAt, event.at))
  let scores = stale ? EMPTY : state.scores
  const prevStreak = stale ? EMPTY_STREAK : state.streak
  for (const threshold of rules.layers) {
    const v = event.scores[threshold.score]
    if (v !== undefined && scores[threshold.score] !== v) {
      if (scores === state.scores || scores === EMPTY) scores = { ...scores }
      ;(scores as Record<string, number>)[threshold.score] = v
    }
  }
  out.scores = scores
  const promote = promoteTarget(scores, rules)
  let streak: readonly Layer[]
  if (promote > layer) {
    // The last `confirmations` promote targets, this one included.
    const prev = prevStreak
    const keep = Math.min(prev.length, rules.confirmations - 1)
    const next: Layer[] = prev.slice(prev.length - keep)
    next.push(promote)
    streak = next
  } else {
    streak = prevStreak.length === 0 ? prevStreak : []
  }
  if (streak.length >= rules.confirmations) {
    let to = streak[0] as Layer
    for (const l of streak) if (l < to) to = l
    out.kind = "move"
    out.to = to
    out.streak = []
    out.enteredAt = event.at
    return
  }
  const hold = holdTarget(scores, rules)
  if (hold < layer && state.enteredAt !== null && event.at - state.enteredAt >= rules.minDwellMs) {
    out.kind = "move"
    out.to = hold
    out.streak = []
    out.enteredAt = event.at
    return
  }
  out.kind = "stay"
  out.to = layer
  out.streak = streak
  out.enteredAt = state.enteredAt
}

const LATE: Decision = Object.freeze({ kind: "late" })

/** `decide` for an actor in `layer` with `context`, without building the combined state. */
export const decideAt = (
  layer: Layer, state: Omit<ActorState, "layer">, event: LifecycleInput, rules: LifecycleRules, out: Verdict = newVerdict()
): Decision => {
  judge(layer, state, event, rules, out)
  if (out.kind === "late") return LATE
  const next = { scores: out.scores, lastAt: event.at, lastCause: event.cause, late: state.late, streak: out.streak, enteredAt: out.enteredAt }
  return out.kind === "move" ? { kind: "move", to: out.to, next } : { kind: "stay", next }
}
