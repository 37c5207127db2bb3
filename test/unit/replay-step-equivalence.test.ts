/**
 * The hot path's shortcuts equal what they stand for: the shared-scope step
 * (Lifecycle.step) gives exactly what XState's public pure `transition(machine, snapshot,
 * event)` gives, state and context, event after event; the decoder's fast path gives
 * exactly the numbers the Effect Schema (FiniteFromString) gives, or the same rejection.
 */
import { fc, test } from "@fast-check/vitest"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { transition } from "xstate"
import { loadConfig } from "../../config/load.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { layerOfName } from "../../src/domain/layers.ts"
import { createLifecycle, type LifecycleSnapshot, type LifecycleState } from "../../machines/lifecycle.ts"
import { decodeScoresEntry } from "../../streams/scores-wire.ts"
import { workload } from "../../fixtures/workload.ts"

describe("Lifecycle.step", () => {
  it("equals xstate's transition() on every event", () => {
    const config = loadConfig({ env: {}, overrides: { lifecycle: { min_dwell: "2m" } } })
    const lc = createLifecycle(rulesFromConfig(config.lifecycle), "xstate")
    const ours = new Map<string, LifecycleState>()
    const theirs = new Map<string, LifecycleSnapshot>()
    let moves = 0
    for (const e of workload({ events: 5_000, symbols: 50, seed: 21, start: Date.UTC(2026, 0, 5), stepMs: 2_000, lateShare: 0.03 })) {
      const d = decodeScoresEntry(e.id, e.fields, { maxFields: 32, maxValueLength: 64 })
      if (!d.ok) continue
      const event = { type: "score" as const, at: d.at, cause: e.id, scores: d.scores }
      const a = lc.step(ours.get(d.symbol) ?? lc.initial(), event)
      const [b] = transition(lc.machine, theirs.get(d.symbol) ?? lc.snapshotOf(lc.initial()), event)
      expect(a.state.layer).toBe(layerOfName(b.value))
      expect(a.state.context).toEqual(b.context)
      if (a.from !== a.to) moves++
      ours.set(d.symbol, a.state)
      theirs.set(d.symbol, b)
    }
    expect(moves).toBeGreaterThan(50)
  })
})

describe("decodeScoresEntry", () => {
  const viaSchema = Schema.decodeUnknownExit(Schema.Record(Schema.String, Schema.FiniteFromString))
  const value = fc.oneof(
    fc.double({ noNaN: false }).map(String),
    fc.integer().map(String),
    fc.constantFrom("1e308", "1e309", "-1e999", " 0.5 ", "+.5", "5.", "00.100", "1E-7", "Infinity", "-Infinity", "NaN")
  )
  test.prop([fc.dictionary(fc.constantFrom("liquidity", "catalyst", "activity", "x_1"), value, { minKeys: 1 })])(
    "returns the Schema's numbers, or rejects where the Schema does",
    (scores) => {
      const fields = ["symbol", "AAPL", ...Object.entries(scores).flat()]
      const ours = decodeScoresEntry("1767623400000-0", fields, { maxFields: 32, maxValueLength: 64 })
      const theirs = viaSchema(scores)
      if (theirs._tag === "Success") {
        expect(ours).toEqual({ ok: true, symbol: "AAPL", at: 1767623400000, scores: theirs.value })
      } else {
        expect(ours.ok).toBe(false)
      }
    }
  )
})
