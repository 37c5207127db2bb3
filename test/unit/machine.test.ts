/**
 * Properties of the lifecycle machine (DESIGN §4), with fast-check and no I/O: hysteresis,
 * confirmations, minimum dwell, one-step jumps, late events, determinism, and no wall
 * clock. Each property drives the real XState machine through `createLifecycle(rules, "xstate").step`.
 */
import { fc, test } from "@fast-check/vitest"
import { afterEach, describe, expect, it, vi } from "vitest"
import { createLifecycle, type LifecycleState } from "../../machines/lifecycle.ts"
import { holdTarget, promoteTarget, type LifecycleRules, type ScoreEvent } from "../../machines/rules.ts"
import type { Layer } from "../../src/domain/layers.ts"
import { DEFAULT_RULES, MIN, T0, arbEvents, arbScore, scoreEvent } from "../helpers/machine.ts"

interface Move { from: Layer; to: Layer; at: number; index: number }

const run = (rules: LifecycleRules, events: readonly ScoreEvent[], start?: LifecycleState) => {
  const lc = createLifecycle(rules, "xstate")
  let snap = start ?? lc.initial()
  const moves: Move[] = []
  events.forEach((e, index) => {
    const r = lc.step(snap, e)
    if (r.from !== r.to) moves.push({ from: r.from, to: r.to, at: e.at, index })
    snap = r.state
  })
  return { lc, snap, moves, layer: snap.layer }
}

const lc = createLifecycle(DEFAULT_RULES, "xstate")
/** The stored shape of an actor, without what a path keeps beside it. */
const stored = (s: LifecycleState) => ({ layer: s.layer, context: s.context })

describe("lifecycle machine", () => {
  afterEach(() => vi.restoreAllMocks())

  it("follows the DESIGN example: qualify, jump, hold in the band, demote after the dwell", () => {
    const { moves } = run(DEFAULT_RULES, [
      scoreEvent(T0, { liquidity: 0.91 }),
      scoreEvent(T0 + MIN, { liquidity: 0.92 }),
      scoreEvent(T0 + 2 * MIN, { liquidity: 0.55 }),
      scoreEvent(T0 + 3 * MIN, { liquidity: 0.9, catalyst: 0.8, activity: 0.75 }),
      scoreEvent(T0 + 4 * MIN, { catalyst: 0.8, activity: 0.8 }),
      scoreEvent(T0 + 10 * MIN, { activity: 0.1 }),
      scoreEvent(T0 + 20 * MIN, { activity: 0.1 })
    ])
    expect(moves.map((m) => [m.from, m.to, m.at - T0])).toEqual([[0, 1, MIN], [1, 3, 4 * MIN], [3, 2, 20 * MIN]])
  })

  test.prop([fc.array(fc.record({ l: fc.integer({ min: 50, max: 59 }), gap: fc.integer({ min: 0, max: 120 * MIN }) }), { maxLength: 80 })])(
    "scores oscillating inside the hysteresis band never move a layer",
    (band) => {
      // Qualify for L1 first, then wander between demote_below (0.50) and promote_at (0.60).
      const start = run(DEFAULT_RULES, [scoreEvent(T0, { liquidity: 0.9 }), scoreEvent(T0 + 1, { liquidity: 0.9 })])
      expect(start.layer).toBe(1)
      let at = T0 + 1
      const events = band.map((b, i) => scoreEvent((at += b.gap), { liquidity: b.l / 100 }, `${at}-${i}`))
      const after = run(DEFAULT_RULES, events, start.snap)
      expect(after.moves).toEqual([])
    }
  )

  test.prop([arbEvents(), fc.integer({ min: 1, max: 4 })])(
    "a promotion needs `confirmations` consecutive events whose promote target is above the layer",
    (events, confirmations) => {
      const rules = { ...DEFAULT_RULES, confirmations }
      const { moves } = run(rules, events)
      const lifecycle = createLifecycle(rules, "xstate")
      let snap = lifecycle.initial()
      let lastMoveIndex = -1
      events.forEach((e, i) => {
        const before = snap.layer
        snap = lifecycle.step(snap, e).state
        const m = moves.find((x) => x.index === i)
        if (m && m.to > m.from) {
          // The k events ending here, all after the last transition, each promote above `before`.
          expect(i - lastMoveIndex).toBeGreaterThanOrEqual(confirmations)
          for (let j = i - confirmations + 1; j <= i; j++) {
            const scoresAtJ = replayScores(events.slice(0, j + 1))
            expect(promoteTarget(scoresAtJ, rules)).toBeGreaterThan(before)
          }
        }
        if (m) lastMoveIndex = i
      })
    }
  )

  test.prop([arbEvents()])("no demotion before min_dwell of event time in the layer", (events) => {
    const { moves } = run(DEFAULT_RULES, events)
    let enteredAt = T0
    for (const m of moves) {
      if (m.to < m.from) expect(m.at - enteredAt).toBeGreaterThanOrEqual(DEFAULT_RULES.minDwellMs)
      enteredAt = m.at
    }
  })

  test.prop([arbEvents()])("a demotion lands on the hold target; a promotion never passes the promote target", (events) => {
    const { moves } = run(DEFAULT_RULES, events)
    for (const m of moves) {
      const scores = replayScores(events.slice(0, m.index + 1))
      if (m.to < m.from) expect(m.to).toBe(holdTarget(scores, DEFAULT_RULES))
      else expect(m.to).toBeLessThanOrEqual(promoteTarget(scores, DEFAULT_RULES))
    }
  })

  test.prop([arbScore.filter((s) => s >= 0.7), fc.integer({ min: 1, max: 5 })])(
    "a 0 → 3 jump is one transition",
    (s, confirmations) => {
      const rules = { ...DEFAULT_RULES, confirmations }
      const events = Array.from({ length: confirmations }, (_, i) => scoreEvent(T0 + i, { liquidity: s, catalyst: s, activity: s }))
      const { moves } = run(rules, events)
      expect(moves.map((m) => [m.from, m.to])).toEqual([[0, 3]])
    }
  )

  test.prop([arbEvents(40), fc.array(fc.integer({ min: 0, max: 39 }), { maxLength: 10 })])(
    "events older than the last applied one are counted as late and change nothing else",
    (events, lateAfter) => {
      const withLate: ScoreEvent[] = []
      events.forEach((e, i) => {
        withLate.push(e)
        if (lateAfter.includes(i) && e.at > T0) withLate.push(scoreEvent(e.at - 1, { liquidity: 1, catalyst: 1, activity: 1 }, `late-${i}`))
      })
      const clean = run(DEFAULT_RULES, events)
      const noisy = run(DEFAULT_RULES, withLate)
      const lateCount = withLate.length - events.length
      expect(noisy.moves.map(({ from, to, at }) => [from, to, at])).toEqual(clean.moves.map(({ from, to, at }) => [from, to, at]))
      expect(noisy.snap.context.late).toBe(lateCount)
      expect({ ...noisy.snap.context, late: 0 }).toEqual({ ...clean.snap.context, late: 0 })
    }
  )

  test.prop([arbEvents(), fc.array(fc.integer({ min: 1, max: 59 }))])(
    "the same events give the same transitions whatever the restore points (persist/restore between any two events)",
    (events, cuts) => {
      const straight = run(DEFAULT_RULES, events)
      let snap = lc.initial()
      const moves: [number, number, number][] = []
      events.forEach((e, i) => {
        if (cuts.includes(i)) snap = JSON.parse(JSON.stringify(stored(snap))) as LifecycleState
        const r = lc.step(snap, e)
        if (r.from !== r.to) moves.push([r.from, r.to, e.at])
        snap = r.state
      })
      expect(moves).toEqual(straight.moves.map((m) => [m.from, m.to, m.at]))
      expect(stored(snap)).toEqual(stored(straight.snap))
    }
  )

  test.prop([arbEvents()])("never reads the wall clock", (events) => {
    const expected = run(DEFAULT_RULES, events).moves
    const boom = () => { throw new Error("wall clock read inside the machine") }
    vi.spyOn(Date, "now").mockImplementation(boom)
    vi.spyOn(performance, "now").mockImplementation(boom)
    try {
      expect(run(DEFAULT_RULES, events).moves).toEqual(expected)
    } finally {
      vi.restoreAllMocks()
    }
  })

  it("remembers at most the configured scores (memory per actor is bounded)", () => {
    const { snap } = run(DEFAULT_RULES, [scoreEvent(T0, { liquidity: 0.3, foo: 1, bar: 2, baz: 3 })])
    expect(Object.keys(snap.context.scores)).toEqual(["liquidity"])
    expect(snap.context.streak.length).toBeLessThanOrEqual(DEFAULT_RULES.confirmations)
  })
})

/** Last known value of each score after the given events (late ones ignored). */
const replayScores = (events: readonly ScoreEvent[]): Record<string, number> => {
  const scores: Record<string, number> = {}
  let last = -Infinity
  for (const e of events) {
    if (e.at < last) continue
    last = e.at
    Object.assign(scores, e.scores)
  }
  return scores
}
