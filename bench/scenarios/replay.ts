/**
 * Replay: events/s of a dry-run replay (recording file → decode → lifecycle machine →
 * outputs, the `strata replay --dry-run` path) with each way of stepping an actor
 * (`ingest.step`: the pure step and XState's transition), alternating in the same run,
 * beside bare XState: one `createActor` per symbol and `actor.send` of the same, already
 * decoded events. STRATA_BENCH_REPLAY_ROUNDS (default 1) alternating rounds, best of each.
 * Goal: ≥ 150k events/s and ≥ 2× bare actor.send.
 */
import { join } from "node:path"
import { createActor, transition } from "xstate"
import type { Config } from "../../config/schema.ts"
import { loadConfig } from "../../config/load.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { createLifecycle, createLifecycleMachine, type LifecycleSnapshot, type LifecycleState, type StepKind } from "../../machines/lifecycle.ts"
import type { ScoreEvent } from "../../machines/rules.ts"
import { decodeScoresEntry } from "../../streams/scores-wire.ts"
import { dryRunReplay } from "../../src/replay/dry-run.ts"
import { openRecording, readRecordingChunks } from "../../src/replay/file.ts"
import type { BenchFigure, Scenario } from "../scenario.ts"
import { workload, workloadArray } from "../../fixtures/workload.ts"

export const GOAL_EVENTS_PER_S = 150_000
/** The replay's goal against bare XState: at least this many times `actor.send`'s rate. */
export const GOAL_BARE_RATIO = 2

const STEPS: readonly StepKind[] = ["xstate", "pure"]

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

/** The machine alone: Lifecycle.step of each kind, and xstate's public transition(). */
export const stepRates = (events: readonly { symbol: string; event: ScoreEvent }[]): { pure: number; xstate: number; transition: number } => {
  const rules = rulesFromConfig(loadConfig({ env: {} }).lifecycle)
  const time = <S>(initial: S, next: (s: S, e: ScoreEvent) => S): number => {
    const states = new Map<string, S>()
    const started = performance.now()
    for (const { symbol, event } of events) states.set(symbol, next(states.get(symbol) ?? initial, event))
    return events.length / ((performance.now() - started) / 1000)
  }
  const xs = createLifecycle(rules, "xstate")
  const pure = createLifecycle(rules, "pure")
  const transitionRate = time<LifecycleSnapshot>(xs.snapshotOf(xs.initial()), (s, e) => transition(xs.machine, s, e)[0])
  const xstateRate = time<LifecycleState>(xs.initial(), (s, e) => xs.step(s, e).state)
  const pureRate = time<LifecycleState>(pure.initial(), (s, e) => pure.step(s, e).state)
  return { pure: pureRate, xstate: xstateRate, transition: transitionRate }
}

const withStep = (config: Config, step: StepKind): Config => ({ ...config, ingest: { ...config.ingest, step } })

const rateOf = async (n: number, run: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await run()
  return n / ((performance.now() - started) / 1000)
}

export const scenario: Scenario = {
  name: "replay",
  description: "dry-run replay events/s (file and in-memory), ingest.step pure vs xstate, vs bare createActor + actor.send",
  run: async (ctx) => {
    const n = ctx.size === "tiny" ? 5_000 : 1_000_000
    const rounds = ctx.size === "tiny" ? 1 : Math.max(1, Number(process.env["STRATA_BENCH_REPLAY_ROUNDS"] ?? 1))
    const config = loadConfig({ env: {} })
    const file = join(ctx.tmpDir, "scores.ndjson")
    const writer = openRecording(file)
    for (const e of workload(spec(n))) await writer.write(e)
    await writer.close()
    // Both steps, alternating (the machine's load drifts), best of each. The file's replays
    // come first, before the in-memory copy exists: `strata replay --dry-run FILE` holds no
    // such copy, and a million entries held beside it slow its garbage collection.
    const fileRate: Record<StepKind, number> = { xstate: 0, pure: 0 }
    const memoryRate: Record<StepKind, number> = { xstate: 0, pure: 0 }
    const transitions: Record<StepKind, number> = { xstate: 0, pure: 0 }
    const order = (round: number) => (round % 2 === 0 ? STEPS : [...STEPS].reverse())
    for (let round = 0; round < rounds; round++) {
      for (const step of order(round)) {
        fileRate[step] = Math.max(fileRate[step], await rateOf(n, async () => {
          transitions[step] = (await dryRunReplay({ chunks: readRecordingChunks(file) }, withStep(config, step))).lifecycle.length
        }))
      }
      ctx.log(`round ${round + 1}: file pure ${Math.round(fileRate.pure)} / xstate ${Math.round(fileRate.xstate)} ev/s`)
    }
    const entries = workloadArray(spec(n))
    for (let round = 0; round < rounds; round++) {
      for (const step of order(round)) memoryRate[step] = Math.max(memoryRate[step], await rateOf(n, () => dryRunReplay(entries, withStep(config, step))))
      ctx.log(`round ${round + 1}: memory pure ${Math.round(memoryRate.pure)} / xstate ${Math.round(memoryRate.xstate)} ev/s`)
    }
    if (transitions.pure !== transitions.xstate) throw new Error(`the two steps published ${transitions.pure} and ${transitions.xstate} transitions`)

    const limits = { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length }
    const decoded: { symbol: string; event: ScoreEvent }[] = []
    for (const e of entries) {
      const d = decodeScoresEntry(e.id, e.fields, limits)
      if (d.ok) decoded.push({ symbol: d.symbol, event: { type: "score", at: d.at, cause: e.id, scores: d.scores } })
    }
    const bareRate = bareActorSend(decoded)
    const steps = stepRates(decoded)
    ctx.log(`bare actor.send ${Math.round(bareRate)} ev/s; ${transitions.pure} transitions; step alone: pure ${Math.round(steps.pure)} ev/s, ` +
      `xstate Lifecycle.step ${Math.round(steps.xstate)} ev/s, xstate transition() ${Math.round(steps.transition)} ev/s`)
    const goal = `≥ ${GOAL_EVENTS_PER_S.toLocaleString("en-US")} ev/s and ≥ ${GOAL_BARE_RATIO}× bare actor.send`
    const bare = { name: "bare createActor + actor.send (pre-decoded)", value: bareRate }
    const count = n.toLocaleString("en-US")
    const replayFigures = (where: string, rates: Record<StepKind, number>): BenchFigure[] => STEPS.map((step) => ({
      scenario: "replay", metric: `dry-run replay ${where}, ${count} events, ingest.step ${step}`, value: rates[step], unit: "ev/s",
      baseline: bare, ratio: rates[step] / bareRate,
      goal, pass: rates[step] >= GOAL_EVENTS_PER_S && rates[step] / bareRate >= GOAL_BARE_RATIO
    }))
    return [
      ...replayFigures("from file", fileRate),
      {
        scenario: "replay", metric: `dry-run replay from file, pure vs xstate step`, value: fileRate.pure, unit: "ev/s",
        baseline: { name: "the same replay with ingest.step: xstate", value: fileRate.xstate }, ratio: fileRate.pure / fileRate.xstate
      },
      ...replayFigures("in memory", memoryRate),
      {
        scenario: "replay", metric: "machine step alone (Lifecycle.step, pure)", value: steps.pure, unit: "ev/s",
        baseline: { name: "Lifecycle.step, xstate (shared inert scope)", value: steps.xstate }, ratio: steps.pure / steps.xstate
      },
      {
        scenario: "replay", metric: "machine step alone (Lifecycle.step, xstate)", value: steps.xstate, unit: "ev/s",
        baseline: { name: "xstate transition() on the same machine", value: steps.transition }, ratio: steps.xstate / steps.transition
      }
    ]
  }
}

export default scenario
