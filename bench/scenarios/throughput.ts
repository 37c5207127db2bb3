/**
 * Throughput: the most score events per second one engine process applies (a pre-filled
 * backlog drained by a `strata engine` child, atomic step and projector included), beside
 * the raw consume rate of the same backlog (XREADGROUP + XACK, no processing, on the
 * fastest maintained client: raw-clients.ts). The same drain with `ingest.overlap: false`
 * (each batch read and computed only after the last step's reply) is measured in the same
 * run, alternating with `ingest.overlap: true`, so the overlap's gain is a same-run ratio.
 * STRATA_BENCH_TPUT_ROUNDS (default 1) alternating rounds, best of each;
 * STRATA_BENCH_CPU_PROF=<folder> writes the engines' V8 CPU profiles there (node --cpu-prof).
 * Beside each drain, Redis' CPU per event (INFO commandstats and INFO cpu over the drain):
 * the atomic step's scripts, and the whole server's (reads, projector and all).
 * Goal: ≥ 100k events/s per process.
 */
import { join } from "node:path"
import { GROUPS, ingressKeys } from "../../streams/keys.ts"
import type { BenchContext, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { engineDrainRate } from "../lib/engine-drain.ts"
import { fillStream } from "../lib/fill.ts"
import { readRedisCpu, redisCpuSince, usecOf } from "../lib/redis-cpu.ts"
import { RAW_CLIENT, drainRate, openRawClient } from "../lib/raw-clients.ts"
import { workload } from "../../fixtures/workload.ts"
import { bestOfRounds } from "../lib/rounds.ts"

export const GOAL_EVENTS_PER_S = 100_000

const spec = (events: number) => ({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })

interface Drain {
  readonly rate: number
  /** Redis µs per event: in the step's scripts (EVALSHA), and the whole server's CPU. */
  readonly stepUsec: number
  readonly serverUsec: number
}

/** Events/s of one engine child draining a pre-filled backlog of `events`, and Redis' CPU per event. */
const engineDrain = async (ctx: BenchContext, events: number, overlap: boolean, round: number): Promise<Drain> => {
  const label = overlap ? "tput" : "tput-serial"
  const ns = await benchNamespace(ctx, label, { ingest: { overlap } })
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
    const rounds = ctx.size === "tiny" ? 1 : Math.max(1, Number(process.env["STRATA_BENCH_TPUT_ROUNDS"] ?? 1))
    // The engine, serial and overlapped, alternating (the machine's load drifts).
    const { best, runs } = await bestOfRounds({
      rounds, variants: [false, true],
      run: async (overlap, round) => {
        const drain = await engineDrain(ctx, events, overlap, round)
        ctx.log(`round ${round + 1}: overlap ${overlap ? "on" : "off"} ${Math.round(drain.rate)} ev/s; ` +
          `Redis per event: step ${drain.stepUsec.toFixed(2)} µs, server ${drain.serverUsec.toFixed(2)} µs`)
        return drain
      },
      better: (a, b) => a.rate > b.rate
    })
    const serialRate = best.get(false)?.rate ?? 0
    const engineRate = best.get(true)?.rate ?? 0
    const all = [...runs.values()].flat()
    const redisStep = Math.min(...all.map((d) => d.stepUsec))
    const redisServer = Math.min(...all.map((d) => d.serverUsec))
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
      // The step's own same-run baseline (the older snapshot form) is the atomic-step scenario's.
      scenario: "throughput", metric: `Redis CPU per event in the atomic step, EVALSHA µs (${backlog})`, value: redisStep, unit: "µs",
      baseline: { name: "the whole Redis server's CPU per event over the drain", value: redisServer }, ratio: redisStep / redisServer,
      goal: "≤ 4 µs (lower is better)", pass: redisStep <= 4
    }]
  }
}

export default scenario
