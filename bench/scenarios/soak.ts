/**
 * Soak: one `strata engine` child fed an open-loop stream of scores (XADD *, 5k events/s
 * by default) with trimming on, sampled every 10 s: Redis used_memory, the engine's RSS,
 * the scores stream's length and the engine group's lag. Reports the growth of memory and
 * RSS after a warm-up (the scores retention plus a few trim passes): judged by the
 * least-squares line through the samples, and also as the last sample over the first;
 * bounded streams mean flat curves.
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
 *   size full: STRATA_BENCH_SOAK_S seconds (default 60; set 600 or more for a real soak),
 *   STRATA_BENCH_SOAK_RATE events/s (default 5000), STRATA_BENCH_SOAK_DRAIN events of the
 *   cost drains (default 300000). size tiny: 15 s at 500 ev/s, drains of 2000.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import { join } from "node:path"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { groupBacklog, readLatest } from "../../streams/consumer.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { engineDrainRate } from "../lib/engine-drain.ts"
import { ROOT, startChild } from "../lib/children.ts"
import { fillStream, timeProgress } from "../lib/fill.ts"
import { runOpenLoop } from "../lib/open-loop.ts"
import { workload } from "../../fixtures/workload.ts"
import { openRedis } from "../../src/services/redis.ts"
import { compareEntryIds } from "../../src/domain/time.ts"
import { openObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { ARCHIVE_ROOT, parsePartKey, partRowCount } from "../../src/storage/scores-archive.ts"

export const GOAL_GROWTH = 0.05

/** Scores retention of the soak: short, so the warm-up that fills it fits a short run. */
const soakStreams = (keepS: number, trimEvery: string) => ({
  trim: { enabled: true, every: trimEvery },
  scores: { keep: { age: `${keepS}s`, count: 1000 } },
  lifecycle: { keep: { age: `${keepS}s`, count: 1000 } },
  backfill: { keep: { age: `${keepS}s`, count: 1000 } }
})

export interface SoakSample {
  readonly tS: number
  readonly usedMemory: number
  readonly rss: number
  readonly scoresLength: number
  readonly lag: number
  /** Events the producer had sent at the sample. */
  readonly sent: number
  /** Rows in archive parts at or below the mark (verified). */
  readonly archived: number
}

/**
 * Rows archived so far: parts at or below the mark are verified and never change, so each is
 * read (its footer) once; `counted` carries them from one sample to the next.
 */
const archivedRows = async (store: ObjectStore, mark: string | undefined, counted: Map<string, number>): Promise<number> => {
  if (mark !== undefined) {
    for (const key of await store.list(ARCHIVE_ROOT)) {
      const part = parsePartKey(key)
      if (!part || counted.has(key) || compareEntryIds(part.firstId, mark) > 0) continue
      counted.set(key, (await partRowCount(store, key)) ?? 0)
    }
  }
  let rows = 0
  for (const n of counted.values()) rows += n
  return rows
}

const usedMemory = async (redis: Redis) =>
  Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0)

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024

/** The soak itself; returns the samples. */
const soak = async (ctx: BenchContext, seconds: number, rate: number, sampleMs: number, keepS: number, symbols: number, tailS: number): Promise<{ samples: SoakSample[]; sentS: number }> => {
  const ns = await benchNamespace(ctx, "soak", { streams: soakStreams(keepS, "2s"), archive: { enabled: true, every: "5s" } })
  const samples: SoakSample[] = []
  // The producer's pipelines queue on their own connection: a reading must not wait behind them.
  const probe = openRedis(ctx.redisUrl, "bench-soak-probe")
  const store = openObjectStore(ns.config.storage)
  const counted = new Map<string, number>()
  let sent = 0
  let sentS = seconds
  try {
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(ctx.tmpDir, "soak-engine.log"))
    try {
      await child.ready(/engine running/)
      const total = Math.round(seconds * rate)
      // Few enough symbols that every actor exists well before the warm-up ends: their
      // snapshots are the one part of Redis that grows with the universe, not with time.
      const entries = workload({ events: total, symbols, seed: 7, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1 })
      const started = performance.now()
      const sample = async () => {
        samples.push({
          tS: Math.round((performance.now() - started) / 1000),
          usedMemory: await usedMemory(probe), rss: rssOf(child.pid),
          scoresLength: await probe.xlen(scores), lag: (await groupBacklog(probe, scores, GROUPS.engine)) ?? 0,
          sent, archived: await archivedRows(store, await readArchiveMark(probe, keys), counted)
        })
        const s = samples.at(-1)!
        ctx.log(`soak t=${s.tS}s used_memory ${(s.usedMemory / 2 ** 20).toFixed(1)} MB, engine RSS ${(s.rss / 2 ** 20).toFixed(1)} MB, scores ${s.scoresLength}, lag ${s.lag}, sent ${s.sent}, archived ${s.archived}`)
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
    } finally {
      await child.stop()
    }
  } finally {
    await probe.quit().catch(() => probe.disconnect())
    await store.close()
    await ns.cleanup()
  }
  return { samples, sentS }
}

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

/** Growth of the last sample over the first one after `warmS`. */
export const growthAfter = (samples: readonly SoakSample[], warmS: number, pick: (s: SoakSample) => number) => {
  const base = samples.find((s) => s.tS >= warmS) ?? samples[0]!
  const last = samples.at(-1)!
  return { base: pick(base), last: pick(last), growth: pick(base) > 0 ? (pick(last) - pick(base)) / pick(base) : 0 }
}

/**
 * Growth over the window after `warmS` by the least-squares line through its samples: the
 * line's rise from the first sample's time to the last one's, over its value at the first.
 * Memory moves in steps (the heap grows and is collected in tens of MB; Redis frees a
 * trimmed stream's nodes in batches), so two samples say mostly where in a step each fell;
 * the line through every sample says whether the level climbs.
 */
export const fittedGrowthAfter = (samples: readonly SoakSample[], warmS: number, pick: (s: SoakSample) => number) => {
  const window = samples.filter((s) => s.tS >= warmS)
  if (window.length < 2) return { start: window[0] ? pick(window[0]) : 0, end: window[0] ? pick(window[0]) : 0, growth: 0 }
  const n = window.length
  const mt = window.reduce((a, s) => a + s.tS, 0) / n
  const my = window.reduce((a, s) => a + pick(s), 0) / n
  const sxy = window.reduce((a, s) => a + (s.tS - mt) * (pick(s) - my), 0)
  const sxx = window.reduce((a, s) => a + (s.tS - mt) ** 2, 0)
  const slope = sxx > 0 ? sxy / sxx : 0
  const at = (t: number) => my + slope * (t - mt)
  const start = at(window[0]!.tS)
  const end = at(window.at(-1)!.tS)
  return { start, end, growth: start > 0 ? (end - start) / start : 0 }
}

export const scenario: Scenario = {
  name: "soak",
  description: "memory and RSS growth after warm-up under a steady scores stream with trimming; trimming's cost on ingest events/s",
  run: async (ctx) => {
    const tiny = ctx.size === "tiny"
    const seconds = tiny ? 15 : Number(process.env["STRATA_BENCH_SOAK_S"] ?? 60)
    const rate = tiny ? 500 : Number(process.env["STRATA_BENCH_SOAK_RATE"] ?? 5000)
    const sampleMs = tiny ? 2_000 : 10_000
    const keepS = tiny ? 3 : 10
    // Warm-up: the retention fills, a few trim passes run, the heap settles.
    const warmS = Math.min(Math.round(seconds / 2), keepS + (tiny ? 6 : 20))
    const tailS = tiny ? 60 : Number(process.env["STRATA_BENCH_SOAK_TAIL_S"] ?? 300)
    const { samples: all, sentS } = await soak(ctx, seconds, rate, sampleMs, keepS, tiny ? 300 : 2_000, tailS)
    const end = all.at(-1)!
    // Growth and lag while the stream flows (up to the last event sent); the tail only drains.
    const samples = all.filter((s) => s.tS <= sentS)
    const mem = growthAfter(samples, warmS, (s) => s.usedMemory)
    const rss = growthAfter(samples, warmS, (s) => s.rss)
    const memFit = fittedGrowthAfter(samples, warmS, (s) => s.usedMemory)
    const rssFit = fittedGrowthAfter(samples, warmS, (s) => s.rss)
    // Until the last event was sent: the tail drains whatever backlog there is.
    const maxLag = Math.max(...samples.filter((s) => s.tS >= warmS).map((s) => s.lag))
    const drainEvents = tiny ? 2_000 : Number(process.env["STRATA_BENCH_SOAK_DRAIN"] ?? 300_000)
    const on = await drainRate(ctx, drainEvents, true)
    const off = await drainRate(ctx, drainEvents, false)
    ctx.log(`soak ${seconds}s @ ${rate} ev/s: used_memory ${(mem.growth * 100).toFixed(1)}% (fitted ${(memFit.growth * 100).toFixed(1)}%) after ${warmS}s warm-up, RSS ${(rss.growth * 100).toFixed(1)}% (fitted ${(rssFit.growth * 100).toFixed(1)}%); drain with trimming ${Math.round(on)} ev/s, without ${Math.round(off)} ev/s`)
    const label = `${seconds}s @ ${rate.toLocaleString("en-US")} ev/s, growth after ${warmS}s warm-up`
    const fitLabel = `${seconds}s @ ${rate.toLocaleString("en-US")} ev/s, least-squares line over the samples after ${warmS}s warm-up`
    const figures: BenchFigure[] = [
      {
        scenario: "soak", metric: `Redis used_memory, ${fitLabel}`, value: memFit.end / 2 ** 20, unit: "MB",
        baseline: { name: "the line at the end of the warm-up", value: memFit.start / 2 ** 20 }, ratio: memFit.start > 0 ? memFit.end / memFit.start : 1,
        goal: `growth < ${GOAL_GROWTH * 100}%`, pass: memFit.growth < GOAL_GROWTH
      },
      {
        scenario: "soak", metric: `engine RSS, ${fitLabel}`, value: rssFit.end / 2 ** 20, unit: "MB",
        baseline: { name: "the line at the end of the warm-up", value: rssFit.start / 2 ** 20 }, ratio: rssFit.start > 0 ? rssFit.end / rssFit.start : 1,
        goal: `growth < ${GOAL_GROWTH * 100}%`, pass: rssFit.growth < GOAL_GROWTH
      },
      {
        scenario: "soak", metric: `Redis used_memory, ${label}, last sample over the first`, value: mem.last / 2 ** 20, unit: "MB",
        baseline: { name: "used_memory at the end of the warm-up", value: mem.base / 2 ** 20 }, ratio: mem.last / mem.base
      },
      {
        scenario: "soak", metric: `engine RSS, ${label}, last sample over the first`, value: rss.last / 2 ** 20, unit: "MB",
        baseline: { name: "RSS at the end of the warm-up", value: rss.base / 2 ** 20 }, ratio: rss.last / rss.base
      },
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
    ctx.log(`soak samples (t s, used_memory MB, RSS MB, scores length, lag, sent, archived): ${all.map((s) => `${s.tS} ${(s.usedMemory / 2 ** 20).toFixed(1)} ${(s.rss / 2 ** 20).toFixed(1)} ${s.scoresLength} ${s.lag} ${s.sent} ${s.archived}`).join("; ")}`)
    return figures
  }
}

export default scenario
