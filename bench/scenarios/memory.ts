/**
 * Memory per symbol: heap and RSS growth of one engine process after one event for each of
 * N symbols, with every actor cached (hot) and with the cache capped so idle actors are
 * passivated to their Redis snapshot; the Redis bytes each snapshot costs; beside one bare
 * started XState actor per symbol. Goal: ≤ 1 KB of process memory per idle symbol.
 */
import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { ROOT } from "../lib/children.ts"
import { fillStream } from "../lib/fill.ts"
import { benchSymbol } from "../../fixtures/workload.ts"

const run = promisify(execFile)
export const GOAL_BYTES_PER_IDLE_SYMBOL = 1024
const PASSIVATED_CACHE = 1_000

interface Probe { heapBytes: number; rssBytes: number; cached: number; rssTotal: number }

/** The whole process for a million symbols, idle ones passivated: under a GiB. */
export const GOAL_RSS_1M = 2 ** 30

const probe = async (args: string[], env: NodeJS.ProcessEnv): Promise<Probe> => {
  const { stdout } = await run(process.execPath, ["--expose-gc", "--max-old-space-size=4096", "--import", "tsx", join(ROOT, "bench/lib/memory-probe.ts"), ...args], {
    cwd: ROOT, env: { ...env, LOG_LEVEL: "silent" }, maxBuffer: 1 << 20
  })
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Probe
}

/** One engine run over n symbols with a given cache size; returns the probe and the snapshots hash size. */
const engineRun = async (ctx: BenchContext, n: number, cache: number): Promise<{ p: Probe; redisBytes: number }> => {
  const ns = await benchNamespace(ctx, "mem")
  try {
    const t0 = Date.UTC(2026, 0, 5, 14, 30)
    const entries = function* () {
      for (let i = 0; i < n; i++) {
        yield { id: `${t0 + i}-0`, fields: ["symbol", benchSymbol(i), "ts", String(t0 + i), "liquidity", "0.7", "catalyst", "0.4"] }
      }
    }
    await fillStream(ns.redis, ingressKeys(ns.prefix).scores, entries())
    const p = await probe(["engine", String(n), String(cache)], ns.env)
    const redisBytes = Number(await ns.redis.call("MEMORY", "USAGE", partitionKeys(ns.prefix, 0).snapshots, "SAMPLES", "0"))
    return { p, redisBytes }
  } finally {
    await ns.cleanup()
  }
}

export const scenario: Scenario = {
  name: "memory",
  description: "heap/RSS per symbol: hot actors, passivated idle actors, Redis snapshot bytes; vs bare XState actors",
  run: async (ctx) => {
    const sizes = ctx.size === "tiny" ? [2_000] : process.env["STRATA_BENCH_1M"] ? [10_000, 100_000, 1_000_000] : [10_000, 100_000]
    const figures: BenchFigure[] = []
    for (const n of sizes) {
      const k = n.toLocaleString("en-US")
      const bare = await probe(["bare", String(n)], process.env)
      const hot = await engineRun(ctx, n, n + 10)
      const idle = await engineRun(ctx, n, PASSIVATED_CACHE)
      const per = (bytes: number) => bytes / n
      const bareHeap = per(bare.heapBytes)
      ctx.log(`${k} symbols: bare ${bareHeap.toFixed(0)} B heap, hot ${per(hot.p.heapBytes).toFixed(0)} B heap / ${per(hot.p.rssBytes).toFixed(0)} B RSS, passivated ${per(idle.p.heapBytes).toFixed(0)} B heap / ${per(idle.p.rssBytes).toFixed(0)} B RSS (cached ${idle.p.cached}), redis ${per(hot.redisBytes).toFixed(0)} B`)
      figures.push(
        {
          scenario: "memory", metric: `heap per hot (cached) actor, ${k} symbols`, value: per(hot.p.heapBytes), unit: "B",
          baseline: { name: "bare started XState actor", value: bareHeap }, ratio: per(hot.p.heapBytes) / bareHeap
        },
        {
          scenario: "memory", metric: `RSS per hot (cached) actor, ${k} symbols`, value: per(hot.p.rssBytes), unit: "B",
          baseline: { name: "bare started XState actor (RSS)", value: per(bare.rssBytes) }, ratio: per(hot.p.rssBytes) / per(bare.rssBytes)
        },
        {
          scenario: "memory", metric: `heap per idle symbol, passivated (cache ${PASSIVATED_CACHE}), ${k} symbols`, value: per(idle.p.heapBytes), unit: "B",
          baseline: { name: "bare started XState actor", value: bareHeap }, ratio: per(idle.p.heapBytes) / bareHeap,
          goal: `≤ ${GOAL_BYTES_PER_IDLE_SYMBOL} B (lower is better)`, pass: per(idle.p.heapBytes) <= GOAL_BYTES_PER_IDLE_SYMBOL
        },
        {
          scenario: "memory", metric: `RSS per idle symbol, passivated, ${k} symbols`, value: per(idle.p.rssBytes), unit: "B",
          baseline: { name: "bare started XState actor (RSS)", value: per(bare.rssBytes) }, ratio: per(idle.p.rssBytes) / per(bare.rssBytes),
          goal: `≤ ${GOAL_BYTES_PER_IDLE_SYMBOL} B (lower is better)`, pass: per(idle.p.rssBytes) <= GOAL_BYTES_PER_IDLE_SYMBOL
        },
        {
          scenario: "memory", metric: `whole ingest process RSS after ${k} symbols, passivated (cache ${PASSIVATED_CACHE})`, value: idle.p.rssTotal / 2 ** 20, unit: "MB",
          baseline: { name: "the same with every actor cached", value: hot.p.rssTotal / 2 ** 20 }, ratio: idle.p.rssTotal / hot.p.rssTotal,
          ...(n === 1_000_000 ? { goal: `< ${GOAL_RSS_1M / 2 ** 20} MB`, pass: idle.p.rssTotal < GOAL_RSS_1M } : {})
        },
        {
          scenario: "memory", metric: `Redis bytes per persisted snapshot, ${k} symbols`, value: per(hot.redisBytes), unit: "B",
          baseline: { name: "bare started XState actor (heap)", value: bareHeap }, ratio: per(hot.redisBytes) / bareHeap
        }
      )
    }
    return figures
  }
}

export default scenario
