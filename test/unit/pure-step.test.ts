/**
 * The pure step (machines/pure-step.ts) equals XState's own `transition()` of the
 * lifecycle machine: over random rules (every layer, threshold, confirmations, dwell and
 * staleness setting the config allows), random events (scores, unknown scores, stale
 * events; late, equal and far apart times; extreme values) and random persist/restore
 * round trips between steps, both give the same layer, context, late flag and byte-equal
 * stored snapshot at every step. And `processBatch` gives the same outputs with either
 * step whatever the batch cuts, staleness demotions included.
 */
import { fc, test } from "@fast-check/vitest"
import { Schema } from "effect"
import { describe, expect } from "vitest"
import { transition } from "xstate"
import { loadConfig } from "../../config/load.ts"
import { Lifecycle as LifecycleConfigSchema, type LifecycleConfig } from "../../config/schema.ts"
import { createLifecycle, type LifecycleSnapshot, type LifecycleState, type StepKind } from "../../machines/lifecycle.ts"
import { createPureStep } from "../../machines/pure-step.ts"
import { scoreNames, type LifecycleInput } from "../../machines/rules.ts"
import { decodeActor, encodeActor, type PersistedActor } from "../../machines/snapshot-codec.ts"
import { processBatch, snapshotArgs } from "../../src/engine/batch.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { commitClock, newStreamClock } from "../../src/engine/stream-clock.ts"
import { LAYER_NAMES, layerOfName } from "../../src/domain/layers.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { T0 } from "../helpers/machine.ts"

const MIN = 60_000
const DAY = 24 * 60 * MIN
const NAMES = ["liquidity", "catalyst", "activity", "x_1"] as const

/** A threshold on a coarse grid (ties with scores are common), or anywhere in [0, 1]. */
const arbUnit = fc.oneof(fc.integer({ min: 0, max: 20 }).map((n) => n / 20), fc.double({ min: 0, max: 1, noNaN: true }))

const arbLayerRule = fc.record({ score: fc.constantFrom(...NAMES), a: arbUnit, b: arbUnit })
  .map(({ score, a, b }) => ({ score, promote_at: Math.max(a, b), demote_below: Math.min(a, b) }))

/** Any lifecycle section the config accepts (checked by its own schema). */
const arbLifecycle = fc.record({
  layers: fc.record({ L1: arbLayerRule, L2: arbLayerRule, L3: arbLayerRule }),
  confirmations: fc.integer({ min: 1, max: 5 }),
  min_dwell: fc.constantFrom("0s", "1s", "1m", "30m", "2h", "1d"),
  stale_after: fc.constantFrom("off", "1s", "15m", "90m", "12h", "1d", "5d"),
  calendar: fc.constantFrom("none", "XNYS")
}).map((c): LifecycleConfig => Schema.decodeUnknownSync(LifecycleConfigSchema)(c))

/** Scores in [0, 1] near thresholds, and values the decoder lets through that are far outside. */
const arbValue = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 20 }).map((n) => n / 20) },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom(-0, Number.MIN_VALUE, -Number.MAX_VALUE, Number.MAX_VALUE, 1 - Number.EPSILON, 1e-300) }
)

/** Time from one event to the next: equal, small steps, late (negative), hours and days (weekends, quiet periods). */
const arbGap = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 5 * MIN }) },
  { weight: 2, arbitrary: fc.integer({ min: -2 * DAY, max: -1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 30 * MIN, max: 8 * DAY }) }
)

type Op =
  | { readonly kind: "event"; readonly stale: boolean; readonly gap: number; readonly scores: Record<string, number> }
  | { readonly kind: "restore" }

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ gap: arbGap, scores: fc.dictionary(fc.constantFrom(...NAMES, "unknown"), arbValue, { maxKeys: 5 }) })
    .map((o): Op => ({ kind: "event", stale: false, ...o })) },
  { weight: 1, arbitrary: fc.record({ gap: arbGap }).map((o): Op => ({ kind: "event", stale: true, gap: o.gap, scores: {} })) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: "restore" }) }
)

/** The stored text, read back: what a batch boundary with a restart in it hands the next step. */
const roundTrip = (p: PersistedActor): PersistedActor => {
  const d = decodeActor(encodeActor(p))
  if (!d.ok) throw new Error(`stored snapshot unreadable: ${d.reason}`)
  return d.actor
}

describe("the pure step", () => {
  test.prop([arbLifecycle, fc.array(arbOp, { maxLength: 40 })], { numRuns: 3_000, seed: 20261202 })(
    "gives XState's transition(): the same layer, context, late flag and stored snapshot at every step",
    (config, ops) => {
      const rules = rulesFromConfig(config)
      const lifecycle = createLifecycle(rules, "xstate")
      const step = createPureStep(rules)
      const resolve = (p: PersistedActor): LifecycleSnapshot => lifecycle.machine.resolveState({ value: LAYER_NAMES[p.layer], context: p.context })
      let ours: PersistedActor = { layer: 0, context: lifecycle.initial().context }
      let theirs = resolve(ours)
      let at = T0
      ops.forEach((op, i) => {
        if (op.kind === "restore") {
          ours = roundTrip(ours)
          theirs = resolve(roundTrip({ layer: layerOfName(theirs.value), context: theirs.context }))
          return
        }
        at += op.gap
        const event: LifecycleInput = op.stale
          ? { type: "stale", at, cause: `stale:${i}-0`, scores: {} }
          : { type: "score", at, cause: `${i}-0`, scores: op.scores }
        const r = step(ours, event)
        const [next] = transition(lifecycle.machine, theirs, event)
        const layer = layerOfName(next.value)
        expect(r.from).toBe(layerOfName(theirs.value))
        expect(r.to).toBe(layer)
        expect(r.state.layer).toBe(layer)
        expect(r.late).toBe(next.context.late !== theirs.context.late)
        expect(r.state.context).toEqual(next.context)
        expect(encodeActor(r.state)).toBe(encodeActor({ layer, context: next.context }))
        ours = r.state
        theirs = next
      })
    }
  )
})

const config = loadConfig({ env: {} })

/** Scores entries of a few symbols, with late, equal and far apart times, and now and then a bad one. */
const arbEntries = fc.array(
  fc.record({ symbol: fc.constantFrom("AAPL", "MSFT", "NVDA", "BRK.B"), gap: arbGap, scores: fc.dictionary(fc.constantFrom(...NAMES), arbValue, { maxKeys: 4 }), bad: fc.boolean() }),
  { maxLength: 80 }
).map((specs) => {
  let at = T0
  return specs.map((s, i): StreamEntry => {
    at += s.gap
    const scores = Object.entries(s.scores).flatMap(([k, v]) => [k, s.bad && i % 7 === 0 ? "NaN" : String(v)])
    return { id: `${T0 + i}-0`, fields: ["symbol", s.symbol, "ts", String(at), ...scores] }
  })
})

/** The entries through processBatch with one step, cut where told, actors persisted and read back between batches. */
const runWith = (step: StepKind, lifecycleConfig: LifecycleConfig, entries: readonly StreamEntry[], cuts: readonly number[]) => {
  const rules = rulesFromConfig(lifecycleConfig)
  const lifecycle = createLifecycle(rules, step)
  const held = new Map<string, LifecycleState>()
  const clock = newStreamClock(lifecycle)
  const out = { lifecycle: [] as string[][], backfill: [] as string[][], dead: [] as string[][], stored: [] as string[], late: 0, stale: 0 }
  const bounds = [...new Set([0, ...cuts.map((c) => c % (entries.length + 1)), entries.length])].sort((a, b) => a - b)
  for (let i = 0; i + 1 < bounds.length; i++) {
    const r = processBatch(entries.slice(bounds[i], bounds[i + 1]), {
      lifecycle, scoreNames: scoreNames(rules), retention: config.retention,
      limits: { maxFields: 32, maxValueLength: 64 }, clock,
      snapshotOf: (s) => held.get(s) ?? lifecycle.initial()
    })
    commitClock(clock, lifecycle, r.streamTime, r.snapshots)
    const args = snapshotArgs(r.snapshots)
    out.stored.push(...args)
    for (let j = 0; j < args.length; j += 2) {
      const d = decodeActor(args[j + 1] as string)
      if (!d.ok) throw new Error(`stored snapshot unreadable: ${d.reason}`)
      held.set(args[j] as string, d.actor)
    }
    out.lifecycle.push(...r.lifecycle)
    out.backfill.push(...r.backfill)
    out.dead.push(...r.dead)
    out.late += r.late
    out.stale += r.stale
  }
  return out
}

describe("processBatch with either step", () => {
  test.prop([arbLifecycle, arbEntries, fc.array(fc.nat(), { maxLength: 8 })], { numRuns: 300, seed: 20261203 })(
    "writes the same lifecycle entries, commands, dead letters and stored snapshots, whatever the batch cuts",
    (lifecycleConfig, entries, cuts) => {
      expect(runWith("pure", lifecycleConfig, entries, cuts)).toEqual(runWith("xstate", lifecycleConfig, entries, cuts))
    }
  )
})
