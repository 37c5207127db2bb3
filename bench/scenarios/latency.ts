/**
 * End-to-end latency, scanner XADD → backfill command readable on its stream, at fixed
 * open-loop rates, beside two raw two-hop Redis baselines (volume-matched: the same output
 * volume and batch size as the engine; every event: ten times the output) and the BullMQ
 * peer, measured in the same run. Each rate runs long enough for the engine's p99 to rest
 * on ≥ 100 samples above it (up to a cap); a percentile without that many is not printed.
 * Lost outputs count in the percentiles (measure-latency.ts). A target that did not keep
 * up with the offered rate is marked "saturated": its latency is then queueing.
 * Goal: corrected p99 ≤ 3 ms at 5k ev/s and ≤ 1.5× the volume-matched raw two-hop.
 */
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"
import { reportable, samplesFor } from "../lib/histogram.ts"
import { bullmqTarget, engineTarget, rawTarget } from "../lib/latency-targets.ts"
import { COMMAND_SHARE } from "../lib/latency-workload.ts"
import { keepsUp, measureLatency, type LatencyResult } from "../lib/measure-latency.ts"

export const GOAL_P99_MS = 3
export const GOAL_RATIO_TO_RAW = 1.5
const GOAL_RATE = 5_000
const MAX_DURATION_MS = 60_000

/** Long enough for the engine's p99 to be reportable at `rate`, within the cap. */
export const durationFor = (rate: number): number =>
  Math.min(MAX_DURATION_MS, Math.max(10_000, Math.ceil((1.05 * samplesFor(99)) / (rate * COMMAND_SHARE)) * 1000))

const plan = (size: BenchContext["size"]) =>
  size === "tiny"
    ? { rates: [200], duration: () => 600, warmupMs: 0 }
    : { rates: [1_000, GOAL_RATE, 20_000], duration: durationFor, warmupMs: 1_000 }

export interface LatencyRun {
  readonly engine: LatencyResult
  readonly matched: LatencyResult
  readonly all: LatencyResult
  readonly bullmq: LatencyResult
}

const describeRun = (r: LatencyResult): string => {
  const s = r.corrected
  const p = (name: string, q: number, v: number) => (reportable(s.count, q) ? ` ${name} ${v.toFixed(2)}` : ` ${name} n/a (${s.count} samples)`)
  return `${r.target} @ ${r.rate}/s: corrected p50 ${s.p50.toFixed(2)}${p("p99", 99, s.p99)}${p("p99.9", 99.9, s.p999)} max ${s.max.toFixed(2)} ms; ` +
    `lost ${r.lost}${r.unowed > 0 ? `; ${r.unowed} outputs for events that owed none (not measured)` : ""}; outputs ${Math.round(r.seenPerS)}/s of ${Math.round(r.owedPerS)}/s owed${keepsUp(r) ? "" : " (saturated)"}`
}

/** The engine, both raw relays and BullMQ at one rate, one after the other. */
export const latencyAt = async (ctx: BenchContext, rate: number, durationMs: number, warmupMs: number): Promise<LatencyRun> => {
  const opts = { rate, durationMs, warmupMs }
  const engine = await measureLatency((onSeen) => engineTarget(ctx, onSeen), opts)
  const matched = await measureLatency((onSeen) => rawTarget(ctx, "matched", onSeen), opts)
  const all = await measureLatency((onSeen) => rawTarget(ctx, "all", onSeen), opts)
  const bullmq = await measureLatency((onSeen) => bullmqTarget(ctx, onSeen), opts)
  for (const r of [engine, matched, all, bullmq]) ctx.log(describeRun(r))
  return { engine, matched, all, bullmq }
}

const STATS = [["p50", 50], ["p99", 99], ["p999", 99.9]] as const
const LABEL = { p50: "p50", p99: "p99", p999: "p99.9" } as const

const figuresAt = (r: LatencyRun): BenchFigure[] => {
  const rate = r.engine.rate
  const at = `@ ${rate / 1000}k ev/s`
  const out: BenchFigure[] = []
  for (const kind of ["corrected", "raw"] as const) {
    for (const [s, q] of STATS) {
      // A percentile is printed only when both sides rest on enough samples.
      if (!reportable(r.engine[kind].count, q) || !reportable(r.matched[kind].count, q)) continue
      const value = r.engine[kind][s]
      const base = r.matched[kind][s]
      const isGoal = kind === "corrected" && s === "p99" && rate === GOAL_RATE
      out.push({
        scenario: "latency", metric: `e2e ${kind} ${LABEL[s]} ${at}`, value, unit: "ms",
        baseline: { name: `raw two-hop volume-matched ${kind} ${LABEL[s]}`, value: base },
        ratio: base > 0 ? value / base : 0,
        ...(isGoal
          ? { goal: `≤ ${GOAL_P99_MS} ms and ≤ ${GOAL_RATIO_TO_RAW}× volume-matched raw two-hop (lower is better)`, pass: r.engine.lost === 0 && value <= GOAL_P99_MS && value <= GOAL_RATIO_TO_RAW * base }
          : {})
      })
    }
  }
  if (reportable(r.engine.corrected.count, 99) && reportable(r.all.corrected.count, 99)) {
    out.push({
      scenario: "latency", metric: `e2e corrected p99 vs raw two-hop, every event ${at}`, value: r.engine.corrected.p99, unit: "ms",
      baseline: { name: "raw two-hop every event (10× the output) corrected p99", value: r.all.corrected.p99 },
      ratio: r.all.corrected.p99 > 0 ? r.engine.corrected.p99 / r.all.corrected.p99 : 0
    })
  }
  if (reportable(r.engine.corrected.count, 99) && reportable(r.bullmq.corrected.count, 99)) {
    const bull = r.bullmq.corrected.p99
    out.push({
      scenario: "latency", metric: `e2e corrected p99 vs BullMQ ${at}`, value: r.engine.corrected.p99, unit: "ms",
      baseline: { name: `BullMQ two-queue corrected p99${keepsUp(r.bullmq) ? "" : ` (saturated: ${Math.round(r.bullmq.seenPerS)}/s of ${Math.round(r.bullmq.owedPerS)}/s)`}`, value: bull },
      ratio: bull > 0 ? r.engine.corrected.p99 / bull : 0
    })
  }
  out.push({
    scenario: "latency", metric: `outputs lost ${at} (engine / raw matched / BullMQ)`, value: r.engine.lost, unit: "events",
    baseline: { name: "raw two-hop volume-matched lost", value: r.matched.lost }, goal: `BullMQ lost ${r.bullmq.lost}`
  })
  return out
}

export const scenario: Scenario = {
  name: "latency",
  description: "XADD → backfill command readable, open-loop, HdrHistogram corrected for coordinated omission; vs volume-matched raw two-hop and BullMQ",
  run: async (ctx) => {
    const p = plan(ctx.size)
    const figures: BenchFigure[] = []
    for (const rate of p.rates) figures.push(...figuresAt(await latencyAt(ctx, rate, p.duration(rate), p.warmupMs)))
    return figures
  }
}

export default scenario
