/**
 * Replay: events/s of a dry-run replay (recording file → decode → lifecycle machine →
 * outputs, the `strata replay --dry-run` path) beside bare XState: one `createActor` per
 * symbol and `actor.send` of the same, already decoded events. Goal: ≥ 150k events/s.
 */
import { join } from "node:path"
import { createActor, transition } from "xstate"
import { loadConfig } from "../../config/load.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { createLifecycle, createLifecycleMachine, type LifecycleSnapshot } from "../../machines/lifecycle.ts"
import type { ScoreEvent } from "../../machines/rules.ts"
import { decodeScoresEntry } from "../../streams/scores-wire.ts"
import { dryRunReplay } from "../../src/replay/dry-run.ts"
import { openRecording, readRecording } from "../../src/replay/file.ts"
import type { Scenario } from "../scenario.ts"
import { workload, workloadArray } from "../../fixtures/workload.ts"

export const GOAL_EVENTS_PER_S = 150_000

const spec = (events: number) => ({ events, symbols: 10_000, seed: 5, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 30, lateShare: 0.01, badShare: 0.001 })

/** Bare XState: one started actor per symbol, events sent one by one. */
export const bareActorSend = (events: readonly { symbol: string; event: ScoreEvent }[]): number => {
  const config = loadConfig({ env: {} })
  const machine = createLifecycleMachine(rulesFromConfig(config.lifecycle))
  const actors = new Map<string, ReturnType<typeof createActor<typeof machine>>>()
  const started = performance.now()
  for (const { symbol, event } of events) {
    let a = actors.get(symbol)
    if (!a) {
      a = createActor(machine).start()
      actors.set(symbol, a)
    }
    a.send(event)
  }
  const seconds = (performance.now() - started) / 1000
  for (const a of actors.values()) a.stop()
  return events.length / seconds
}

/** The machine alone: Lifecycle.step (one shared inert actor scope) vs xstate's public transition(). */
export const stepRates = (events: readonly { symbol: string; event: ScoreEvent }[]): { step: number; pure: number } => {
  const lifecycle = createLifecycle(rulesFromConfig(loadConfig({ env: {} }).lifecycle))
  const time = (next: (s: LifecycleSnapshot, e: ScoreEvent) => LifecycleSnapshot): number => {
    const snaps = new Map<string, LifecycleSnapshot>()
    const started = performance.now()
    for (const { symbol, event } of events) snaps.set(symbol, next(snaps.get(symbol) ?? lifecycle.initial(), event))
    return events.length / ((performance.now() - started) / 1000)
  }
  const pure = time((s, e) => transition(lifecycle.machine, s, e)[0])
  const step = time((s, e) => lifecycle.step(s, e).snapshot)
  return { step, pure }
}

export const scenario: Scenario = {
  name: "replay",
  description: "dry-run replay events/s (file and in-memory) vs bare createActor + actor.send",
  run: async (ctx) => {
    const n = ctx.size === "tiny" ? 5_000 : 1_000_000
    const config = loadConfig({ env: {} })
    const file = join(ctx.tmpDir, "scores.ndjson")
    const writer = openRecording(file)
    for (const e of workload(spec(n))) await writer.write(e)
    await writer.close()

    let started = performance.now()
    const fromFile = await dryRunReplay(readRecording(file), config)
    const fileRate = n / ((performance.now() - started) / 1000)

    const entries = workloadArray(spec(n))
    started = performance.now()
    await dryRunReplay(entries, config)
    const memoryRate = n / ((performance.now() - started) / 1000)

    const limits = { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length }
    const decoded: { symbol: string; event: ScoreEvent }[] = []
    for (const e of entries) {
      const d = decodeScoresEntry(e.id, e.fields, limits)
      if (d.ok) decoded.push({ symbol: d.symbol, event: { type: "score", at: d.at, cause: e.id, scores: d.scores } })
    }
    const bareRate = bareActorSend(decoded)
    const { step, pure } = stepRates(decoded)
    ctx.log(`file ${Math.round(fileRate)} ev/s, memory ${Math.round(memoryRate)} ev/s, bare actor.send ${Math.round(bareRate)} ev/s; ${fromFile.lifecycle.length} transitions; Lifecycle.step ${Math.round(step)} ev/s, xstate transition() ${Math.round(pure)} ev/s`)
    const goal = `≥ ${GOAL_EVENTS_PER_S.toLocaleString("en-US")} ev/s`
    return [
      {
        scenario: "replay", metric: `dry-run replay from file, ${n.toLocaleString("en-US")} events`, value: fileRate, unit: "ev/s",
        baseline: { name: "bare createActor + actor.send (pre-decoded)", value: bareRate }, ratio: fileRate / bareRate,
        goal, pass: fileRate >= GOAL_EVENTS_PER_S
      },
      {
        scenario: "replay", metric: "machine step alone (Lifecycle.step)", value: step, unit: "ev/s",
        baseline: { name: "xstate transition() on the same machine", value: pure }, ratio: step / pure
      },
      {
        scenario: "replay", metric: `dry-run replay in memory, ${n.toLocaleString("en-US")} events`, value: memoryRate, unit: "ev/s",
        baseline: { name: "bare createActor + actor.send (pre-decoded)", value: bareRate }, ratio: memoryRate / bareRate,
        goal, pass: memoryRate >= GOAL_EVENTS_PER_S
      }
    ]
  }
}

export default scenario
