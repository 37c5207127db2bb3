/**
 * Soak: one `strata engine` child fed an open-loop stream of scores (XADD *, 5k events/s
 * by default) with trimming on, sampled every 10 s: Redis used_memory (and the memory of
 * every key but the scores stream), the engine's RSS and the low point of each of its V8 heaps
 * (the engine's thread and the archive thread, read by soak-heap-probe.mjs), the scores
 * stream's length, the engine group's lag, the keys under the prefix and the actors'
 * snapshots. The backfill workers are off, as in every bench engine; a stand-in reader
 * (soak-backfill-reader.ts) acknowledges the backfill commands as workers that keep up
 * would, since without the workers' group the backfill stream may not be trimmed at all.
 * The warm-up is measured, not guessed (soak-growth.ts warmUpEnd): it ends at the first
 * sample, after the retention plus a few trim passes, from which every symbol's actor is in
 * the snapshots hash, every key of the run exists and each heap has had a full collection
 * (until then V8 raises the heaps' limits and the RSS climbs in a step that never recurs).
 * Growth after it is judged by the least-squares line through every sample, of used_memory
 * and of RSS; each heap's low points (the line through each 2-minute window's lowest) show
 * whether a heap retains more, apart from the swings of its collections.
 * Also the cost of trimming on ingest: the same pre-filled backlog drained by an engine
 * with trimming every second, and by one without, as a ratio of events/s.
 * The scanner archive runs as by default (archive.enabled, in the engine's archive thread),
 * a pass every 5 s rather than every minute so that the scores the 10 s retention keeps are
 * not held back a whole minute by the mark; each sample also counts the rows archived (parts
 * at or below the mark, from their footers) against the events sent. After the last event
 * the soak waits (up to STRATA_BENCH_SOAK_TAIL_S, default 300 s) for the engine to apply
 * everything and the archive to reach the last entry, and samples once more; growth and lag
 * are read up to the last event sent, the archived rows at the very end.
 * The trimming-cost drains run without the archive: they measure trimming alone.
 * STRATA_BENCH_SOAK_DETAIL names a JSON-lines file for each sample's per-key breakdown
 * (soak-detail.ts).
 *   size full: STRATA_BENCH_SOAK_S seconds (default 60; set 600 or more for a real soak),
 *   STRATA_BENCH_SOAK_RATE events/s (default 5000), STRATA_BENCH_SOAK_DRAIN events of the
 *   cost drains (default 300000). size tiny: 15 s at 500 ev/s, drains of 2000.
 */
import { appendFileSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { groupBacklog } from "../../streams/consumer.ts"
import { readLatest } from "../../streams/stream-read.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { engineDrainRate } from "../lib/engine-drain.ts"
import { ROOT, startChild } from "../lib/children.ts"
import { fillStream } from "../lib/fill.ts"
import { runOpenLoop } from "../lib/open-loop.ts"
import { startBackfillReader } from "../lib/soak-backfill-reader.ts"
import { soakDetail } from "../lib/soak-detail.ts"
import { fittedGrowthAfter, floorGrowthAfter, growthAfter, warmUpEnd, type Growth, type SoakSample } from "../lib/soak-growth.ts"
import { archivedRows, heapFloors, keysUnder, rssOf, usedMemory } from "../lib/soak-sampler.ts"
import { workload } from "../../fixtures/workload.ts"
import { openRedis } from "../../src/services/redis.ts"
import { openObjectStore } from "../../src/storage/object-store.ts"

export { fittedGrowthAfter, growthAfter, type SoakSample } from "../lib/soak-growth.ts"

export const GOAL_GROWTH = 0.05

/** Scores retention of the soak: short, so the warm-up that fills it fits a short run. */
const soakStreams = (keepS: number, trimEvery: string) => ({
  trim: { enabled: true, every: trimEvery },
  scores: { keep: { age: `${keepS}s`, count: 1000 } },
  lifecycle: { keep: { age: `${keepS}s`, count: 1000 } },
  backfill: { keep: { age: `${keepS}s`, count: 1000 } }
})

/** The soak itself; returns the samples. */
const soak = async (ctx: BenchContext, seconds: number, rate: number, sampleMs: number, keepS: number, symbols: number, tailS: number): Promise<{ samples: SoakSample[]; sentS: number }> => {
  const ns = await benchNamespace(ctx, "soak", { streams: soakStreams(keepS, "2s"), archive: { enabled: true, every: "5s" } })
  const samples: SoakSample[] = []
  // The producer's pipelines queue on their own connection: a reading must not wait behind them.
  const probe = openRedis(ctx.redisUrl, "bench-soak-probe")
  // A blocking reader must not hold up the probe's readings either: a connection of its own.
  const workers = openRedis(ctx.redisUrl, "bench-soak-workers")
  const store = openObjectStore(ns.config.storage)
  const counted = new Map<string, number>()
  let sent = 0
  let sentS = seconds
  try {
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    const reader = await startBackfillReader(workers, keys.backfill, ctx.log)
    const engineLog = join(ctx.tmpDir, "soak-engine.log")
    const heapFile = join(ctx.tmpDir, "soak-heap.jsonl")
    const floors = heapFloors(heapFile)
    const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], { ...ns.env, STRATA_BENCH_SOAK_HEAP: heapFile }, engineLog,
      ["--import", join(ROOT, "bench/lib/soak-heap-probe.mjs")])
    try {
      await child.ready(/engine running/)
      const detailFile = process.env["STRATA_BENCH_SOAK_DETAIL"]
      // The engine's HTTP port is chosen at start; its "engine running" line names it.
      let metricsUrl: string | undefined
      const engineUrl = () => (metricsUrl ??= /"http":"(http:[^"]+)"/.exec(readFileSync(engineLog, "utf8"))?.[1])
      const total = Math.round(seconds * rate)
      // Few enough symbols that every actor exists well before the warm-up ends: their
      // snapshots are the one part of Redis that grows with the universe, not with time.
      const entries = workload({ events: total, symbols, seed: 7, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1 })
      const started = performance.now()
      const sample = async () => {
        const { floors: heaps, gcs } = floors()
        const under = await keysUnder(probe, ns.prefix, scores)
        samples.push({
          tS: Math.round((performance.now() - started) / 1000),
          usedMemory: await usedMemory(probe), notScores: under.bytes, rss: rssOf(child.pid),
          scoresLength: await probe.xlen(scores), lag: (await groupBacklog(probe, scores, GROUPS.engine)) ?? 0,
          sent, archived: await archivedRows(store, await readArchiveMark(probe, keys), counted),
          keys: under.count, snapshots: await probe.hlen(keys.snapshots),
          ...(heaps.main !== undefined ? { heapMain: heaps.main } : {}), ...(heaps.worker !== undefined ? { heapArchive: heaps.worker } : {}),
          ...(gcs.main !== undefined ? { gcMain: gcs.main } : {}), ...(gcs.worker !== undefined ? { gcArchive: gcs.worker } : {})
        })
        const s = samples.at(-1)!
        if (detailFile) appendFileSync(detailFile, `${JSON.stringify({ tS: s.tS, sent, ...(await soakDetail(probe, ns.prefix, engineUrl())) })}\n`)
        ctx.log(`soak t=${s.tS}s used_memory ${mb(s.usedMemory)} MB (other keys ${mb(s.notScores ?? 0)}), engine RSS ${mb(s.rss)} MB (heaps ${mb(s.heapMain ?? 0)} + ${mb(s.heapArchive ?? 0)}), scores ${s.scoresLength}, lag ${s.lag}, sent ${s.sent}, archived ${s.archived}, keys ${s.keys}, snapshots ${s.snapshots}, full GCs ${s.gcMain ?? "?"} + ${s.gcArchive ?? "?"}`)
      }
      await sample()
      const timer = setInterval(() => void sample().catch((e: Error) => ctx.log(`soak sample failed: ${e.message}`)), sampleMs)
      try {
        await runOpenLoop({ start: performance.now() + 10, rate, total }, async (due) => {
          const pipe = ns.redis.pipeline()
          for (let i = 0; i < due.length; i++) {
            const e = entries.next()
            if (e.done) break
            pipe.xadd(scores, "*", ...e.value.fields)
            sent++
          }
          await pipe.exec()
        })
        await sample()
        sentS = samples.at(-1)!.tS
        // The tail: everything applied and archived (or the wait gave up), still sampled.
        const lastId = (await readLatest(probe, scores, 1))[0]?.id
        const until = performance.now() + tailS * 1000
        while (performance.now() < until && lastId !== undefined && (await readArchiveMark(probe, keys)) !== lastId) {
          await new Promise((r) => setTimeout(r, 500))
        }
      } finally {
        clearInterval(timer)
      }
      await sample()
      ctx.log(`soak backfill stand-in acknowledged ${reader.acked()} commands`)
    } finally {
      await child.stop()
      await reader.stop()
    }
  } finally {
    await probe.quit().catch(() => probe.disconnect())
    await workers.quit().catch(() => workers.disconnect())
    await store.close()
    await ns.cleanup()
  }
  return { samples, sentS }
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)

/** Events/s of one engine draining a pre-filled backlog, with or without trimming. */
const drainRate = async (ctx: BenchContext, events: number, trim: boolean): Promise<number> => {
  const ns = await benchNamespace(ctx, trim ? "trim-on" : "trim-off", {
    streams: { ...soakStreams(0, "1s"), trim: { enabled: trim, every: "1s" } }, archive: { enabled: false }
  })
  try {
    await fillStream(ns.redis, ingressKeys(ns.prefix).scores, workload({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 }))
    return await engineDrainRate(ctx, ns, events, `drain-${trim ? "on" : "off"}.log`)
  } finally {
    await ns.cleanup()
  }
}

/** A growth figure judged against the goal: the line's value at the end over its value at the start. */
const judged = (metric: string, g: Growth, baseline: string): BenchFigure => ({
  scenario: "soak", metric, value: g.end / 2 ** 20, unit: "MB", baseline: { name: baseline, value: g.start / 2 ** 20 },
  ratio: g.start > 0 ? g.end / g.start : 1, goal: `growth < ${GOAL_GROWTH * 100}%`, pass: g.growth < GOAL_GROWTH
})
/** The same, shown beside the judged figures without a goal of its own. */
const shown = (metric: string, g: Growth, baseline: string): BenchFigure => {
  const { goal: _goal, pass: _pass, ...rest } = judged(metric, g, baseline)
  return rest
}

export const scenario: Scenario = {
  name: "soak",
  description: "memory and RSS growth after a measured warm-up under a steady scores stream with trimming and the archive; trimming's cost on ingest events/s",
  run: async (ctx) => {
    const tiny = ctx.size === "tiny"
    const seconds = tiny ? 15 : Number(process.env["STRATA_BENCH_SOAK_S"] ?? 60)
    const rate = tiny ? 500 : Number(process.env["STRATA_BENCH_SOAK_RATE"] ?? 5000)
    const sampleMs = tiny ? 2_000 : 10_000
    const keepS = tiny ? 3 : 10
    const symbols = tiny ? 300 : 2_000
    // The earliest the warm-up may end: the retention fills and a few trim passes run.
    const minWarmS = Math.min(Math.round(seconds / 2), keepS + (tiny ? 6 : 20))
    // Longer than a heap's swing (a minute or two at 5k ev/s), several in a 10-minute run.
    const floorWindowS = tiny ? 4 : 120
    const tailS = tiny ? 60 : Number(process.env["STRATA_BENCH_SOAK_TAIL_S"] ?? 300)
    const { samples: all, sentS } = await soak(ctx, seconds, rate, sampleMs, keepS, symbols, tailS)
    const end = all.at(-1)!
    // Growth and lag while the stream flows (up to the last event sent); the tail only drains.
    const samples = all.filter((s) => s.tS <= sentS)
    const measured = warmUpEnd(samples, minWarmS, symbols)
    // Never settled: judged from the half-way point, and the figure says so.
    const warmS = measured ?? Math.round(sentS / 2)
    const mem = growthAfter(samples, warmS, (s) => s.usedMemory)
    const rss = growthAfter(samples, warmS, (s) => s.rss)
    const memFit = fittedGrowthAfter(samples, warmS, (s) => s.usedMemory)
    const outsideFit = fittedGrowthAfter(samples, warmS, (s) => s.notScores ?? 0)
    const rssFit = fittedGrowthAfter(samples, warmS, (s) => s.rss)
    const probed = samples.filter((s) => s.tS >= warmS && s.heapMain !== undefined && s.heapArchive !== undefined)
    const heapMain = floorGrowthAfter(probed, warmS, floorWindowS, (s) => s.heapMain ?? 0)
    const heapArchive = floorGrowthAfter(probed, warmS, floorWindowS, (s) => s.heapArchive ?? 0)
    // Until the last event was sent: the tail drains whatever backlog there is.
    const maxLag = Math.max(...samples.filter((s) => s.tS >= warmS).map((s) => s.lag))
    const drainEvents = tiny ? 2_000 : Number(process.env["STRATA_BENCH_SOAK_DRAIN"] ?? 300_000)
    const on = await drainRate(ctx, drainEvents, true)
    const off = await drainRate(ctx, drainEvents, false)
    const pct = (g: { growth: number }) => `${(g.growth * 100).toFixed(1)}%`
    ctx.log(`soak ${seconds}s @ ${rate} ev/s, warm-up ${measured === undefined ? `never settled (judged from ${warmS}s)` : `${warmS}s (measured)`}: used_memory fitted ${pct(memFit)} (other keys ${pct(outsideFit)}), RSS fitted ${pct(rssFit)} (two samples ${pct(rss)}), heap floors main ${pct(heapMain)} archive ${pct(heapArchive)}; drain with trimming ${Math.round(on)} ev/s, without ${Math.round(off)} ev/s`)
    const run = `${seconds}s @ ${rate.toLocaleString("en-US")} ev/s, after the ${measured === undefined ? `half-way point (the warm-up never settled)` : `measured ${warmS}s warm-up`}`
    const figures: BenchFigure[] = [
      judged(`Redis used_memory, ${run}, least-squares line over every sample`, memFit, "the line at the end of the warm-up"),
      shown(`Redis keys other than the scores stream (MEMORY USAGE), ${run}, least-squares line`, outsideFit, "the line at the end of the warm-up"),
      judged(`engine RSS, ${run}, least-squares line over every sample`, rssFit, "the line at the end of the warm-up"),
      shown(`engine thread's V8 heap, ${run}, line over each ${floorWindowS}s window's low point`, heapMain, "the line at the end of the warm-up"),
      shown(`archive thread's V8 heap, ${run}, line over each ${floorWindowS}s window's low point`, heapArchive, "the line at the end of the warm-up"),
      {
        scenario: "soak", metric: `Redis used_memory, ${run}, last sample over the first`, value: mem.last / 2 ** 20, unit: "MB",
        baseline: { name: "used_memory at the end of the warm-up", value: mem.base / 2 ** 20 }, ratio: mem.last / mem.base
      },
      {
        scenario: "soak", metric: `engine RSS, ${run}, last sample over the first`, value: rss.last / 2 ** 20, unit: "MB",
        baseline: { name: "RSS at the end of the warm-up", value: rss.base / 2 ** 20 }, ratio: rss.last / rss.base
      },
      { scenario: "soak", metric: `warm-up: every actor and key present from (earliest ${minWarmS}s)`, value: measured ?? -1, unit: "s", goal: "settles while sending", pass: measured !== undefined },
      { scenario: "soak", metric: `max engine group lag after warm-up, while sending (samples every ${sampleMs / 1000}s)`, value: maxLag, unit: "entries" },
      {
        scenario: "soak", metric: `rows archived at the end (${end.tS - sentS}s after the last event, archive every 5s)`, value: end.archived, unit: "rows",
        baseline: { name: "events sent", value: end.sent }, ratio: end.sent > 0 ? end.archived / end.sent : 1, goal: "= events sent", pass: end.archived === end.sent
      },
      {
        scenario: "soak", metric: `ingest events/s with trimming every 1s (${drainEvents.toLocaleString("en-US")} backlog)`, value: on, unit: "ev/s",
        baseline: { name: "the same drain without trimming", value: off }, ratio: on / off, goal: "≥ 0.95 of the run without trimming", pass: on / off >= 0.95
      }
    ]
    ctx.log(`soak samples (t s, used_memory MB, other keys MB, RSS MB, main heap MB, archive heap MB, scores length, lag, sent, archived, keys, snapshots): ${all.map((s) => `${s.tS} ${mb(s.usedMemory)} ${mb(s.notScores ?? 0)} ${mb(s.rss)} ${mb(s.heapMain ?? 0)} ${mb(s.heapArchive ?? 0)} ${s.scoresLength} ${s.lag} ${s.sent} ${s.archived} ${s.keys} ${s.snapshots}`).join("; ")}`)
    return figures
  }
}

export default scenario
