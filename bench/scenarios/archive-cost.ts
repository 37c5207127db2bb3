/**
 * The cost of keeping Redis bounded on ingest: the events/s one engine process applies while
 * draining a backlog, with its archive thread writing the same entries to the lake (a pass
 * every second) and/or its trimming removing them (a pass every second, 1,000 entries and no
 * age kept, so every pass removes what the groups and, with the archive on, the archive
 * have done with), each as a ratio to the same run with both off. Parts (STRATA_BENCH_PARTS,
 * e.g. "archive,trim"; all by default): `archive` alone, `trim` alone, `both`. The runs of a
 * round alternate the off run with every part named, two rounds, the order turning each
 * round, and each keeps its best run: on a shared machine a neighbour's load only ever slows
 * a run down. Each run also reports Redis' own account of its commands (INFO commandstats,
 * differences around the drain) and the load average. Goal: ratio ≥ 0.95 with both on.
 * STRATA_BENCH_ARCHIVE_COST_PROF=<folder>: the engines run with --cpu-prof into it.
 * STRATA_BENCH_ARCHIVE_NICE: the archive thread's `archive.nice` (default 0, as installs run).
 *   size full: a backlog of STRATA_BENCH_ARCHIVE_COST_EVENTS entries (default 200000); tiny: 2000.
 */
import { loadavg } from "node:os"
import { join } from "node:path"
import { readLatest } from "../../streams/stream-read.ts"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchFigure, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { ROOT, startChild } from "../lib/children.ts"
import { drainRateOf, fillStream, timeProgress } from "../lib/fill.ts"
import { readRedisCpu, redisCpuSince, type RedisCpu } from "../lib/redis-cpu.ts"
import { workload } from "../../fixtures/workload.ts"
import { alternating, bestOfRounds } from "../lib/rounds.ts"

const spec = (events: number) => ({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })

/** What a run keeps on: the archive, trimming, both (the parts), or neither (the baseline). */
interface Mode { readonly archive: boolean; readonly trim: boolean }
const PARTS = {
  archive: { archive: true, trim: false },
  trim: { archive: false, trim: true },
  both: { archive: true, trim: true }
} as const satisfies Record<string, Mode>
type Part = keyof typeof PARTS
const OFF: Mode = { archive: false, trim: false }
const label = (m: Mode) => (m.archive && m.trim ? "both" : m.archive ? "archive" : m.trim ? "trim" : "off")

interface Run {
  readonly ingest: number
  /** Rows/s from the drain's first applied entry until the mark reached the last one. */
  readonly archive: number | undefined
  /** How long after the drain ended the mark reached the last entry, ms. */
  readonly archivedAfterMs?: number
  readonly redis: RedisCpu
  readonly load: number
}

const drain = async (ctx: Parameters<Scenario["run"]>[0], events: number, mode: Mode, prof: string | undefined): Promise<Run> => {
  // With the default retention (an hour) a drain of a fresh backlog would trim nothing.
  const keep = { keep: { age: "0s", count: 1000 } }
  const name = label(mode)
  const ns = await benchNamespace(ctx, `arch-${name}`, {
    archive: { enabled: mode.archive, every: "1s", nice: Number(process.env["STRATA_BENCH_ARCHIVE_NICE"] ?? 0) },
    streams: { trim: { enabled: mode.trim, every: "1s" }, scores: keep, lifecycle: keep, backfill: keep }
  })
  try {
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    await fillStream(ns.redis, scores, workload(spec(events)))
    const lastId = (await readLatest(ns.redis, scores, 1))[0]?.id as string
    // One profile per thread (the archive thread writes its own), named by pid and thread.
    const nodeArgs = prof === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${join(prof, `${name}-${Date.now()}`)}`]
    const before = await readRedisCpu(ns.redis)
    const load = loadavg()[0] ?? 0
    const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(ctx.tmpDir, `engine-${name}.log`), nodeArgs)
    try {
      const t = await timeProgress(async () => Number(await ns.redis.hget(keys.stats, "entries") ?? 0), events, 600_000)
      const redis = redisCpuSince(before, await readRedisCpu(ns.redis))
      const ingest = drainRateOf(events, t)
      if (!mode.archive) return { ingest, archive: undefined, redis, load }
      const a = await timeProgress(async () => {
        const mark = await readArchiveMark(ns.redis, keys)
        return mark === undefined ? 0 : mark === lastId ? events : 1
      }, events, 600_000)
      // From the drain's first applied entry to the mark at the last one: the archive may run
      // behind ingest (a lower priority) and archive the backlog in one chunk at the end.
      return { ingest, archive: drainRateOf(events, { first: t.first, done: a.done }), archivedAfterMs: Math.max(0, a.done - t.done), redis, load }
    } finally {
      await child.stop()
    }
  } finally {
    await ns.cleanup()
  }
}

/** The commands that cost Redis the most in a run, µs per event drained. */
const topCommands = (r: Run, events: number, n = 8) =>
  [...r.redis.commands].sort((a, b) => b[1].usec - a[1].usec).slice(0, n)
    .map(([cmd, c]) => `${cmd} ${c.calls} calls ${(c.usec / events).toFixed(2)} µs/ev`).join("; ")

const chosenParts = (): Part[] => {
  const named = process.env["STRATA_BENCH_PARTS"]?.split(",").map((s) => s.trim()).filter(Boolean)
  const unknown = named?.filter((n) => !(n in PARTS)) ?? []
  if (unknown.length > 0) throw new Error(`STRATA_BENCH_PARTS: no part named ${unknown.join(", ")}; known: ${Object.keys(PARTS).join(", ")}`)
  return named === undefined ? (Object.keys(PARTS) as Part[]) : (named as Part[])
}

export const scenario: Scenario = {
  name: "archive-cost",
  description: "engine events/s with the scanner archive, trimming, or both on vs with both off, alternated in one run",
  run: async (ctx) => {
    const events = ctx.size === "tiny" ? 2_000 : Number(process.env["STRATA_BENCH_ARCHIVE_COST_EVENTS"] ?? 200_000)
    const prof = process.env["STRATA_BENCH_ARCHIVE_COST_PROF"]
    const parts = chosenParts()
    const modes: Mode[] = [OFF, ...parts.map((p) => PARTS[p])]
    const rounds = await bestOfRounds({
      rounds: 2, variants: modes, order: alternating,
      run: async (mode) => {
        const r = await drain(ctx, events, mode, prof)
        const behind = r.archivedAfterMs === undefined ? "" : `, archived ${(r.archivedAfterMs / 1000).toFixed(1)} s after the drain`
        ctx.log(`${label(mode)}: ${Math.round(r.ingest)} ev/s${behind} (load ${r.load.toFixed(1)}; redis ${(r.redis.serverUsec / events).toFixed(1)} µs/ev: ${topCommands(r, events)})`)
        return r
      },
      better: (a, b) => a.ingest > b.ingest
    })
    const runs = new Map([...rounds.runs].map(([mode, rs]) => [label(mode), rs]))
    const best = new Map([...rounds.best].map(([mode, r]) => [label(mode), r]))
    const off = best.get("off")!
    const loads = [...runs.values()].flat().map((r) => r.load)
    ctx.log(`load average at the runs' starts ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`)
    const figures: BenchFigure[] = []
    for (const part of parts) {
      const all = runs.get(part) ?? []
      const on = best.get(part)!
      const ratio = on.ingest / off.ingest
      const what = part === "both" ? "the archive and trimming on" : part === "archive" ? "the archive on, trimming off" : "trimming on, the archive off"
      ctx.log(`${part}: runs ${all.map((r) => Math.round(r.ingest)).join(", ")} ev/s; off ${runs.get("off")?.map((r) => Math.round(r.ingest)).join(", ")} ev/s`)
      figures.push({
        scenario: "archive-cost", metric: `engine events/s with ${what}, each every 1s (${events.toLocaleString("en-US")} backlog, best of 2)`, value: on.ingest, unit: "ev/s",
        baseline: { name: "the same run, archive and trimming off (best of 2)", value: off.ingest }, ratio,
        ...(part === "both" ? { goal: "≥ 0.95 of the run without them (cost ≤ 5%)", pass: ratio >= 0.95 } : {})
      })
      if (on.archive !== undefined) figures.push({ scenario: "archive-cost", metric: `archive rows/s, drain start to the mark at the last entry (${part}, engine process, local lake)`, value: on.archive, unit: "rows/s" })
    }
    return figures
  }
}

export default scenario
