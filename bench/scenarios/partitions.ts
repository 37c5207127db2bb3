/**
 * Partitioned installs (partitions > 1), all in one run on one standalone Redis:
 *  - handoff: three engines (two at the tiny size) share the partitions while scores flow; one is killed with
 *    SIGKILL at seeded instants, several times, and the time until every partition it
 *    held is held by a live engine again and applying is taken (p50 and max), beside the
 *    bound it should respect: lease TTL (its lease and its membership run out) + one
 *    heartbeat (the runner-up's next plan) + 1 s. Then one engine is stopped with SIGTERM
 *    (it leaves the members at once): the time until the others hold its partitions,
 *    beside one heartbeat + 1 s;
 *  - throughput: the same backlog drained by one engine process and by two, each beside
 *    the raw XREADGROUP + XACK consume of it; and the router's own ceiling (ingress to
 *    partitions, nobody applying) beside a raw XREADGROUP + XADD-under-ID copy;
 *  - latency: end-to-end corrected p50 / p99 (the latency scenario's measure, open loop) of
 *    one engine on a partitioned install beside one engine on a one-partition install;
 *  - cluster: the same measure of one engine on the same partitioned install on a local
 *    3-master Redis Cluster (started here, stopped by pid) beside it on the standalone
 *    Redis, p50 / p99 / p99.9 where each rests on enough samples, and the outputs lost.
 * STRATA_BENCH_PARTS (e.g. "latency,cluster") runs only the parts named.
 */
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"
import { workload } from "../../fixtures/workload.ts"
import { measureHandoffs, type Handoff } from "../lib/handoff.ts"
import { engineDrainRate, rawDrainRate, rawRouteRate, routerRate } from "../lib/partitioned-drain.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { RAW_CLIENT } from "../lib/raw-clients.ts"
import { reportable, samplesFor } from "../lib/histogram.ts"
import { engineTarget, partitionedEngineTarget } from "../lib/latency-targets.ts"
import { measureLatency, keepsUp, type LatencyResult } from "../lib/measure-latency.ts"
import { COMMAND_SHARE } from "../lib/latency-workload.ts"
import { startBenchCluster } from "../lib/bench-cluster.ts"

const plan = (size: BenchContext["size"]) =>
  size === "tiny"
    ? { count: 6, engines: 2, kills: 1, rate: 200, events: 3_000, lease: { ttl_ms: 2_000, join_debounce_ms: 500 }, ingest: { block_ms: 200 },
        latency: { rate: 200, durationMs: 600, warmupMs: 0, drainMs: 3_000 },
        cluster: { count: 6, latency: { rate: 200, durationMs: 600, warmupMs: 0, drainMs: 3_000 } } }
    // The lease and the read wait as an install runs them by default (config/default.yaml).
    : { count: 24, engines: 3, kills: 4, rate: 500, events: 50_000, lease: {}, ingest: {},
        latency: { rate: LATENCY_RATE, durationMs: LATENCY_MS, warmupMs: 1_000 },
        cluster: { count: 6, latency: { rate: CLUSTER_RATE, durationMs: CLUSTER_MS, warmupMs: 1_000 } } }

/**
 * A rate one engine keeps up with on a loaded 2-core machine (2k ev/s saturated it there),
 * run long enough for the p99 to rest on ≥ 100 samples above it.
 */
const LATENCY_RATE = 1_000
const LATENCY_MS = Math.ceil((1.05 * samplesFor(99)) / (LATENCY_RATE * COMMAND_SHARE)) * 1000

/**
 * Cluster against standalone: the latency scenario's SLO rate (STRATA_BENCH_CLUSTER_RATE
 * for another), long enough for a firm p99 (not the p99.9).
 */
const CLUSTER_RATE = Number(process.env["STRATA_BENCH_CLUSTER_RATE"] ?? 5_000)
const CLUSTER_MS = Math.ceil((1.05 * samplesFor(99)) / (CLUSTER_RATE * COMMAND_SHARE)) * 1000

const percentile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((q / 100) * s.length) - 1))] ?? 0
}

const handoffFigures = (kills: readonly Handoff[], leave: Handoff, ttlMs: number, count: number, engines: number): BenchFigure[] => {
  const tick = Math.ceil(ttlMs / 3)
  const bound = (ttlMs + tick + 1_000) / 1000
  const leaveBound = (tick + 1_000) / 1000
  const applying = kills.map((k) => k.applyingMs / 1000)
  const owned = kills.map((k) => k.ownedMs / 1000)
  const boundName = `lease TTL ${ttlMs / 1000} s + heartbeat ${(tick / 1000).toFixed(2)} s + 1 s`
  const at = `${engines} engines, ${count} partitions, ${kills.length} kills`
  const p50 = percentile(applying, 50)
  const max = Math.max(...applying)
  const leaveS = leave.ownedMs / 1000
  return [
    { scenario: "partitions", metric: `kill -9 → its partitions held again, p50 (${at})`, value: percentile(owned, 50), unit: "s",
      baseline: { name: boundName, value: bound }, ratio: percentile(owned, 50) / bound },
    { scenario: "partitions", metric: `kill -9 → its partitions held again, max (${at})`, value: Math.max(...owned), unit: "s",
      baseline: { name: boundName, value: bound }, ratio: Math.max(...owned) / bound, goal: "≤ the bound (lower is better)", pass: Math.max(...owned) <= bound },
    { scenario: "partitions", metric: `kill -9 → its partitions held and applying again, p50 (${at})`, value: p50, unit: "s",
      baseline: { name: boundName, value: bound }, ratio: p50 / bound },
    { scenario: "partitions", metric: `kill -9 → its partitions held and applying again, max (${at})`, value: max, unit: "s",
      baseline: { name: boundName, value: bound }, ratio: max / bound, goal: "≤ the bound (lower is better)", pass: max <= bound },
    { scenario: "partitions", metric: `SIGTERM → its ${leave.partitions} partitions held by the others`, value: leaveS, unit: "s",
      baseline: { name: `heartbeat ${(tick / 1000).toFixed(2)} s + 1 s`, value: leaveBound }, ratio: leaveS / leaveBound,
      goal: `applying after ${(leave.applyingMs / 1000).toFixed(2)} s (lower is better)` }
  ]
}

const describe = (r: LatencyResult): string =>
  `${r.target} @ ${r.rate}/s: corrected p50 ${r.corrected.p50.toFixed(2)} p99 ${r.corrected.p99.toFixed(2)} max ${r.corrected.max.toFixed(2)} ms ` +
  `(${r.corrected.count} samples), lost ${r.lost}${keepsUp(r) ? "" : " (saturated)"}`

/** The partitioned install's corrected p50 and p99 beside the one-partition install's, each where both rest on enough samples. */
const latencyFigures = (parted: LatencyResult, single: LatencyResult, log: (m: string) => void): BenchFigure[] => {
  log(describe(parted))
  log(describe(single))
  const at = `@ ${parted.rate / 1000}k ev/s, one engine`
  const out: BenchFigure[] = []
  for (const [name, q] of [["p50", 50], ["p99", 99]] as const) {
    if (!reportable(parted.corrected.count, q) || !reportable(single.corrected.count, q)) continue
    const value = parted.corrected[name]
    const base = single.corrected[name]
    out.push({
      scenario: "partitions", metric: `e2e corrected ${name} ${at}, ${parted.target}`, value, unit: "ms",
      baseline: { name: `one-partition install corrected ${name}`, value: base }, ratio: base > 0 ? value / base : 0,
      goal: `lost ${parted.lost} / ${single.lost}${keepsUp(parted) && keepsUp(single) ? "" : " (saturated)"}`
    })
  }
  return out
}

type Plan = ReturnType<typeof plan>

const latencyPart = async (ctx: BenchContext, p: Plan): Promise<BenchFigure[]> =>
  latencyFigures(
    await measureLatency((onSeen) => partitionedEngineTarget(ctx, p.count, onSeen), p.latency),
    await measureLatency((onSeen) => engineTarget(ctx, onSeen), p.latency), ctx.log)

/** The Cluster's corrected p50 / p99 / p99.9 beside standalone's, each where both rest on enough samples; and the outputs lost. */
const clusterFigures = (onCluster: LatencyResult, standalone: LatencyResult, count: number, log: (m: string) => void): BenchFigure[] => {
  log(describe(standalone))
  log(describe(onCluster))
  const at = `@ ${onCluster.rate / 1000}k ev/s, one engine, ${count} partitions`
  const saturated = keepsUp(onCluster) && keepsUp(standalone) ? "" : " (saturated)"
  const out: BenchFigure[] = []
  for (const [name, key, q] of [["p50", "p50", 50], ["p99", "p99", 99], ["p99.9", "p999", 99.9]] as const) {
    if (!reportable(onCluster.corrected.count, q) || !reportable(standalone.corrected.count, q)) continue
    const value = onCluster.corrected[key]
    const base = standalone.corrected[key]
    out.push({
      scenario: "partitions", metric: `e2e corrected ${name} ${at}, 3-master Cluster`, value, unit: "ms",
      baseline: { name: `same install on standalone Redis, corrected ${name}`, value: base }, ratio: base > 0 ? value / base : 0,
      goal: `lost ${onCluster.lost} / ${standalone.lost}${saturated}`
    })
  }
  out.push({
    scenario: "partitions", metric: `outputs lost ${at}, 3-master Cluster (of ${onCluster.measured + onCluster.lost})`, value: onCluster.lost, unit: "outputs",
    baseline: { name: `same install on standalone Redis (of ${standalone.measured + standalone.lost})`, value: standalone.lost }, goal: `none lost${saturated}`,
    pass: onCluster.lost === 0 && standalone.lost === 0
  })
  return out
}

/** The same partitioned install on the bench's standalone Redis, then on a 3-master Cluster started for it. */
const clusterPart = async (ctx: BenchContext, p: Plan): Promise<BenchFigure[]> => {
  const { count, latency } = p.cluster
  const standalone = await measureLatency((onSeen) => partitionedEngineTarget(ctx, count, onSeen, ", standalone"), latency)
  const cluster = await startBenchCluster(ctx.tmpDir)
  ctx.log(`3-master Redis Cluster at ${cluster.url}`)
  try {
    const onCluster = await measureLatency((onSeen) => partitionedEngineTarget({ ...ctx, redisUrl: cluster.url }, count, onSeen, ", on a Cluster"), latency)
    return clusterFigures(onCluster, standalone, count, ctx.log)
  } finally {
    await cluster.stop()
  }
}

const handoffPart = async (ctx: BenchContext, p: Plan): Promise<BenchFigure[]> => {
  const ns = await benchNamespace(ctx, "phand", { partitions: p.count, lease: p.lease, ingest: p.ingest, archive: { enabled: false } })
  try {
    const { kills, leave } = await measureHandoffs(ns, ctx.tmpDir, { engines: p.engines, kills: p.kills, rate: p.rate, seed: 20261202 }, ctx.log)
    return handoffFigures(kills, leave, ns.config.lease.ttl_ms, p.count, p.engines)
  } finally {
    await ns.cleanup()
  }
}

const throughputPart = async (ctx: BenchContext, p: Plan): Promise<BenchFigure[]> => {
  const backlog = () => workload({ events: p.events, symbols: Math.min(10_000, p.events), seed: 5, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })
  const k = p.events.toLocaleString("en-US")
  const raw = await rawDrainRate(ctx, backlog, p.events)
  const settings = { lease: p.lease, ingest: p.ingest }
  const one = await engineDrainRate(ctx, 1, p.count, backlog, p.events, settings)
  const two = await engineDrainRate(ctx, 2, p.count, backlog, p.events, settings)
  const routed = await routerRate(ctx, p.count, backlog, p.events)
  const rawRouted = await rawRouteRate(ctx, p.count, backlog, p.events)
  ctx.log(`drain: 1 engine ${Math.round(one)} ev/s, 2 engines ${Math.round(two)} ev/s, raw ${Math.round(raw)} ev/s; router ${Math.round(routed)} ev/s, raw copy ${Math.round(rawRouted)} ev/s`)
  const rawName = `raw XREADGROUP+XACK consume (${RAW_CLIENT})`
  return [
    { scenario: "partitions", metric: `1 engine process drains ${k} over ${p.count} partitions`, value: one, unit: "ev/s",
      baseline: { name: rawName, value: raw }, ratio: one / raw },
    { scenario: "partitions", metric: `2 engine processes drain ${k} over ${p.count} partitions`, value: two, unit: "ev/s",
      baseline: { name: rawName, value: raw }, ratio: two / raw, goal: `${(two / one).toFixed(2)}× one process` },
    { scenario: "partitions", metric: `router alone: ingress → ${p.count} partitions (${k})`, value: routed, unit: "ev/s",
      baseline: { name: `raw XREADGROUP + XADD under ID + XACK copy (${RAW_CLIENT})`, value: rawRouted }, ratio: routed / rawRouted }
  ]
}

export const scenario: Scenario = {
  name: "partitions",
  description: "partitioned install: e2e latency vs one partition and on a Cluster vs standalone; handoff after kill -9 and SIGTERM vs the lease bound; 1 vs 2 engines and the router vs raw Redis",
  run: async (ctx) => {
    const p = plan(ctx.size)
    const parts = { latency: latencyPart, cluster: clusterPart, handoff: handoffPart, throughput: throughputPart }
    const named = process.env["STRATA_BENCH_PARTS"]?.split(",").map((s) => s.trim()).filter(Boolean)
    const unknown = named?.filter((n) => !(n in parts)) ?? []
    if (unknown.length > 0) throw new Error(`STRATA_BENCH_PARTS: no part named ${unknown.join(", ")}; known: ${Object.keys(parts).join(", ")}`)
    const figures: BenchFigure[] = []
    for (const [name, part] of Object.entries(parts)) {
      if (named === undefined || named.includes(name)) figures.push(...(await part(ctx, p)))
    }
    return figures
  }
}

export default scenario
