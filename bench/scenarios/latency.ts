/**
 * End-to-end latency, scanner XADD → backfill command readable on its stream, at fixed
 * open-loop rates, beside the raw two-hop Redis baseline and the BullMQ peer measured in
 * the same run. Goal: corrected p99 ≤ 3 ms at 5k ev/s and ≤ 2× raw two-hop.
 */
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"
import { bullmqTarget, engineTarget, rawTarget } from "../lib/latency-targets.ts"
import { measureLatency, type LatencyResult } from "../lib/measure-latency.ts"

export const GOAL_P99_MS = 3

const plan = (size: BenchContext["size"]) =>
  size === "tiny"
    ? { rates: [200], durationMs: 600, warmupMs: 0 }
    : { rates: [1_000, 5_000, 20_000], durationMs: 10_000, warmupMs: 1_000 }

/** Engine, raw two-hop and BullMQ at one rate, one after the other. */
export const latencyAt = async (ctx: BenchContext, rate: number, durationMs: number, warmupMs: number) => {
  const opts = { rate, durationMs, warmupMs }
  const engine = await measureLatency((onSeen) => engineTarget(ctx, onSeen), opts)
  const raw = await measureLatency((onSeen) => rawTarget(ctx, onSeen), opts)
  const bullmq = await measureLatency((onSeen) => bullmqTarget(ctx, onSeen), opts)
  for (const r of [engine, raw, bullmq]) {
    ctx.log(`${r.target} @ ${rate}/s: corrected p50 ${r.corrected.p50.toFixed(2)} p99 ${r.corrected.p99.toFixed(2)} p99.9 ${r.corrected.p999.toFixed(2)} max ${r.corrected.max.toFixed(2)} ms; raw p99 ${r.raw.p99.toFixed(2)} ms; lost ${r.lost}`)
  }
  return { engine, raw, bullmq }
}

const figuresAt = (r: { engine: LatencyResult; raw: LatencyResult; bullmq: LatencyResult }): BenchFigure[] => {
  const rate = r.engine.rate
  const out: BenchFigure[] = []
  const stats = ["p50", "p99", "p999", "max"] as const
  const label = { p50: "p50", p99: "p99", p999: "p99.9", max: "max" } as const
  for (const kind of ["corrected", "raw"] as const) {
    for (const s of stats) {
      const value = r.engine[kind][s]
      const base = r.raw[kind][s]
      const isGoal = kind === "corrected" && s === "p99" && rate === 5_000
      out.push({
        scenario: "latency",
        metric: `e2e ${kind} ${label[s]} @ ${rate / 1000}k ev/s`,
        value, unit: "ms",
        baseline: { name: `raw two-hop ${kind} ${label[s]}`, value: base },
        ratio: base > 0 ? value / base : 0,
        ...(isGoal ? { goal: `≤ ${GOAL_P99_MS} ms and ≤ 2× raw two-hop (lower is better)`, pass: value <= GOAL_P99_MS && value <= 2 * base } : {})
      })
    }
  }
  const bull = r.bullmq.corrected.p99
  out.push({
    scenario: "latency", metric: `e2e corrected p99 vs BullMQ @ ${rate / 1000}k ev/s`, value: r.engine.corrected.p99, unit: "ms",
    baseline: { name: "BullMQ two-queue corrected p99", value: bull }, ratio: bull > 0 ? r.engine.corrected.p99 / bull : 0
  })
  out.push({
    scenario: "latency", metric: `outputs lost @ ${rate / 1000}k ev/s (engine / raw / BullMQ)`, value: r.engine.lost, unit: "events",
    baseline: { name: "raw two-hop lost", value: r.raw.lost }, goal: `BullMQ lost ${r.bullmq.lost}`
  })
  return out
}

export const scenario: Scenario = {
  name: "latency",
  description: "XADD → backfill command readable, open-loop, HdrHistogram corrected for coordinated omission; vs raw two-hop and BullMQ",
  run: async (ctx) => {
    const p = plan(ctx.size)
    const figures: BenchFigure[] = []
    for (const rate of p.rates) figures.push(...figuresAt(await latencyAt(ctx, rate, p.durationMs, p.warmupMs)))
    return figures
  }
}

export default scenario
