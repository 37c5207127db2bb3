/**
 * Throughput: the most score events per second one engine process applies (a pre-filled
 * backlog drained by a `strata engine` child, atomic step and projector included), beside
 * the raw consume rate of the same backlog (XREADGROUP + XACK, no processing, on the
 * fastest maintained client: raw-clients.ts). The same drain with `ingest.overlap: false`
 * (each batch read and computed only after the last step's reply) is measured in the same
 * run, alternating with `ingest.overlap: true`, so the overlap's gain is a same-run ratio;
 * so is the overlapped drain with `ingest.step: xstate` (XState's transition) against the
 * pure step, the default.
 * STRATA_BENCH_TPUT_ROUNDS (default 1) alternating rounds, best of each;
 * STRATA_BENCH_CPU_PROF=<folder> writes the engines' V8 CPU profiles there (node --cpu-prof).
 * Beside each drain, Redis' CPU per event (INFO commandstats and INFO cpu over the drain):
 * the atomic step's scripts, and the whole server's (reads, projector and all).
 * Goal: ≥ 100k events/s per process.
 */
import { join } from "node:path"
import { GROUPS, ingressKeys } from "../../streams/keys.ts"
import type { StepKind } from "../../machines/lifecycle.ts"
import type { BenchContext, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { engineDrainRate } from "../lib/engine-drain.ts"
import { fillStream } from "../lib/fill.ts"
import { readRedisCpu, redisCpuSince, usecOf } from "../lib/redis-cpu.ts"
import { RAW_CLIENT, drainRate, openRawClient } from "../lib/raw-clients.ts"
import { workload } from "../../fixtures/workload.ts"
import { alternating, bestOfRounds } from "../lib/rounds.ts"

export const GOAL_EVENTS_PER_S = 100_000

const STEPS: readonly StepKind[] = ["pure", "xstate"]

/** A drain of a round: overlap off (pure step), or overlap on with either step. */
type Variant = "serial" | StepKind
const VARIANT_LABEL: Record<Variant, string> = { serial: "overlap off", pure: "overlap on", xstate: "overlap on with ingest.step xstate" }

const spec = (events: number) => ({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })

interface Drain {
  readonly rate: number
  /** Redis µs per event: in the step's scripts (EVALSHA), and the whole server's CPU. */
  readonly stepUsec: number
  readonly serverUsec: number
}

/** Events/s of one engine child draining a pre-filled backlog of `events`, and Redis' CPU per event. */
const engineDrain = async (ctx: BenchContext, events: number, overlap: boolean, round: number, step: StepKind = "pure"): Promise<Drain> => {
  const label = `${overlap ? "tput" : "tput-serial"}${step === "pure" ? "" : `-${step}`}`
  const ns = await benchNamespace(ctx, label, { ingest: { overlap, step } })
  try {
    const scores = ingressKeys(ns.prefix).scores
    await fillStream(ns.redis, scores, workload(spec(events)))
    const profiles = process.env["STRATA_BENCH_CPU_PROF"]
    const nodeArgs = profiles ? ["--cpu-prof", `--cpu-prof-dir=${join(profiles, `${label}-${round}`)}`] : []
    const before = await readRedisCpu(ns.redis)
    const rate = await engineDrainRate(ctx, ns, events, `engine-${label}-${round}.log`, nodeArgs)
    const cpu = redisCpuSince(before, await readRedisCpu(ns.redis))
    return { rate, stepUsec: usecOf(cpu, "evalsha", "eval") / events, serverUsec: cpu.serverUsec / events }
  } finally {
    await ns.cleanup()
  }
}

export const scenario: Scenario = {
  name: "throughput",
  description: "max sustained events/s of one engine process vs raw XREADGROUP+XACK consume; ingest.overlap on vs off",
  run: async (ctx) => {
    const events = ctx.size === "tiny" ? 2_000 : 300_000
    const roundCount = ctx.size === "tiny" ? 1 : Math.max(1, Number(process.env["STRATA_BENCH_TPUT_ROUNDS"] ?? 1))
    // The engine, serial and overlapped, alternating (the machine's load drifts): each round
    // the serial drain, then the two steps in turn, first one then the other.
    const drains = await bestOfRounds<Variant, Drain>({
      rounds: roundCount, variants: ["serial", ...STEPS], order: (round) => ["serial", ...alternating(round, STEPS)],
      run: async (variant, round) => {
        const d = variant === "serial" ? await engineDrain(ctx, events, false, round) : await engineDrain(ctx, events, true, round, variant)
        ctx.log(`round ${round + 1}: ${VARIANT_LABEL[variant]} ${Math.round(d.rate)} ev/s; ` +
          `Redis per event: step ${d.stepUsec.toFixed(2)} µs, server ${d.serverUsec.toFixed(2)} µs`)
        return d
      },
      better: (a, b) => a.rate > b.rate
    })
    const rateOf = (v: Variant) => drains.best.get(v)?.rate ?? 0
    const engineRate = rateOf("pure")
    const serialRate = rateOf("serial")
    const xstateRate = rateOf("xstate")
    // Redis' CPU per event: the least over the serial and the overlapped pure drains.
    const measured = [...(drains.runs.get("serial") ?? []), ...(drains.runs.get("pure") ?? [])]
    const redisStep = Math.min(...measured.map((d) => d.stepUsec))
    const redisServer = Math.min(...measured.map((d) => d.serverUsec))
    // The baseline: the same backlog consumed with XREADGROUP + XACK in batches of the engine's size.
    const raw = await benchNamespace(ctx, "tput-raw")
    let rawRate = 0
    try {
      const scores = ingressKeys(raw.prefix).scores
      await fillStream(raw.redis, scores, workload(spec(events)))
      await raw.redis.xgroup("CREATE", scores, GROUPS.engine, "0")
      const client = await openRawClient(RAW_CLIENT, ctx.redisUrl)
      try {
        rawRate = await drainRate(client, scores, GROUPS.engine, raw.config.ingest.batch_size, events)
      } finally {
        await client.close()
      }
    } finally {
      await raw.cleanup()
    }
    ctx.log(`engine ${Math.round(engineRate)} ev/s (overlap off ${Math.round(serialRate)}), raw consume ${Math.round(rawRate)} ev/s`)
    const backlog = `${events.toLocaleString("en-US")} backlog`
    return [{
      scenario: "throughput", metric: `engine events/s (${backlog})`, value: engineRate, unit: "ev/s",
      baseline: { name: `raw XREADGROUP+XACK consume (${RAW_CLIENT})`, value: rawRate }, ratio: engineRate / rawRate,
      goal: `≥ ${GOAL_EVENTS_PER_S.toLocaleString("en-US")} ev/s`, pass: engineRate >= GOAL_EVENTS_PER_S
    }, {
      scenario: "throughput", metric: `engine events/s, ingest.overlap off (${backlog})`, value: serialRate, unit: "ev/s",
      baseline: { name: `raw XREADGROUP+XACK consume (${RAW_CLIENT})`, value: rawRate }, ratio: serialRate / rawRate
    }, {
      scenario: "throughput", metric: `engine events/s, overlap on vs off (${backlog})`, value: engineRate, unit: "ev/s",
      baseline: { name: "the same drain with ingest.overlap: false", value: serialRate }, ratio: engineRate / serialRate
    }, {
      scenario: "throughput", metric: `engine events/s, ingest.step xstate, overlap on (${backlog})`, value: xstateRate, unit: "ev/s",
      baseline: { name: `raw XREADGROUP+XACK consume (${RAW_CLIENT})`, value: rawRate }, ratio: xstateRate / rawRate
    }, {
      scenario: "throughput", metric: `engine events/s, ingest.step pure vs xstate, overlap on (${backlog})`, value: engineRate, unit: "ev/s",
      baseline: { name: "the same drain with ingest.step: xstate", value: xstateRate }, ratio: engineRate / xstateRate
    }, {
      // The step's own same-run baseline (the older snapshot form) is the atomic-step scenario's.
      scenario: "throughput", metric: `Redis CPU per event in the atomic step, EVALSHA µs (${backlog})`, value: redisStep, unit: "µs",
      baseline: { name: "the whole Redis server's CPU per event over the drain", value: redisServer }, ratio: redisStep / redisServer,
      goal: "≤ 4 µs (lower is better)", pass: redisStep <= 4
    }]
  }
}

export default scenario
