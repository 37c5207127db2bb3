/**
 * The cost of keeping Redis bounded on ingest: the events/s one engine process applies while
 * its archive thread writes the same entries to the lake (a pass every second) and its
 * trimming removes them behind the mark (a pass every second, 1,000 entries and no age
 * kept, so every pass removes what the archive has verified), as a ratio to the same run
 * with both off. Also reports the archive's own rate (rows/s from the first archived chunk
 * until the mark reaches the last entry). The two runs alternate, off on off on, and each
 * side keeps its best run: on a shared machine, a neighbour's load only ever slows a run
 * down. Goal: ratio ≥ 0.95. (The soak's drains measure trimming alone, archive off.)
 *   size full: a backlog of STRATA_BENCH_ARCHIVE_COST_EVENTS entries (default 200000); tiny: 2000.
 */
import { readLatest } from "../../streams/stream-read.ts"
import { join } from "node:path"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { ROOT, startChild } from "../lib/children.ts"
import { fillStream, timeProgress } from "../lib/fill.ts"
import { workload } from "../../fixtures/workload.ts"

const spec = (events: number) => ({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })

interface Run { readonly ingest: number; readonly archive: number | undefined }

const drain = async (ctx: Parameters<Scenario["run"]>[0], events: number, archive: boolean): Promise<Run> => {
  // With the default retention (an hour) a drain of a fresh backlog would trim nothing.
  const trim = { enabled: archive, every: "1s" }
  const keep = { keep: { age: "0s", count: 1000 } }
  const ns = await benchNamespace(ctx, archive ? "arch-on" : "arch-off", {
    archive: { enabled: archive, every: "1s" }, streams: { trim, scores: keep, lifecycle: keep, backfill: keep }
  })
  try {
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    await fillStream(ns.redis, scores, workload(spec(events)))
    const lastId = (await readLatest(ns.redis, scores, 1))[0]?.id as string
    const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(ctx.tmpDir, `engine-${archive ? "on" : "off"}.log`))
    try {
      const t = await timeProgress(async () => Number(await ns.redis.hget(keys.stats, "entries") ?? 0), events, 600_000)
      // A tiny backlog can be drained between two samples: at least one sampling interval.
      const ingest = events / (Math.max(t.done - t.first, 20) / 1000)
      if (!archive) return { ingest, archive: undefined }
      const a = await timeProgress(async () => {
        const mark = await readArchiveMark(ns.redis, keys)
        return mark === undefined ? 0 : mark === lastId ? events : 1
      }, events, 600_000)
      return { ingest, archive: events / (Math.max(a.done - a.first, 20) / 1000) }
    } finally {
      await child.stop()
    }
  } finally {
    await ns.cleanup()
  }
}

export const scenario: Scenario = {
  name: "archive-cost",
  description: "engine events/s with the scanner archive writing the same entries and trimming behind it vs with both off",
  run: async (ctx) => {
    const events = ctx.size === "tiny" ? 2_000 : Number(process.env["STRATA_BENCH_ARCHIVE_COST_EVENTS"] ?? 200_000)
    const runs: { off: Run[]; on: Run[] } = { off: [], on: [] }
    for (let round = 0; round < 2; round++) {
      runs.off.push(await drain(ctx, events, false))
      runs.on.push(await drain(ctx, events, true))
    }
    const best = (rs: Run[]) => rs.reduce((a, b) => (b.ingest > a.ingest ? b : a))
    const off = best(runs.off)
    const on = best(runs.on)
    ctx.log(`runs off ${runs.off.map((r) => Math.round(r.ingest)).join(", ")} ev/s; on ${runs.on.map((r) => Math.round(r.ingest)).join(", ")} ev/s`)
    ctx.log(`archive and trimming on ${Math.round(on.ingest)} ev/s, off ${Math.round(off.ingest)} ev/s, archive ${Math.round(on.archive ?? 0)} rows/s`)
    const ratio = on.ingest / off.ingest
    return [
      {
        scenario: "archive-cost", metric: `engine events/s with the archive and trimming on, each every 1s (${events.toLocaleString("en-US")} backlog, best of 2)`, value: on.ingest, unit: "ev/s",
        baseline: { name: "the same run, archive and trimming off (best of 2)", value: off.ingest }, ratio, goal: "≥ 0.95 of the run without it (cost ≤ 5%)", pass: ratio >= 0.95
      },
      { scenario: "archive-cost", metric: "archive rows/s (engine process, local lake)", value: on.archive ?? 0, unit: "rows/s" }
    ]
  }
}

export default scenario
