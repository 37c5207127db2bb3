/**
 * Ingest commit latency while `/api/bars` serves a large read from the same engine
 * process. One `strata engine` child holds a long 1-minute series (older half cold, newer
 * half hot) and is fed scores at a fixed open-loop rate; the run is cut into alternating
 * windows, quiet and reading: in reading windows a client in this process pages through
 * the whole series at the largest page size, over and over (each body streamed and
 * dropped, only its `next` token kept). Latency is XADD → the backfill command its commit
 * wrote, readable on its stream (the latency scenario's engine target), recorded per
 * window kind, corrected for coordinated omission. The quiet windows of the same run are
 * the baseline. Goal: p99 while reading ≤ 2× p99 without reads.
 */
import { readFileSync } from "node:fs"
import { MAX_LIMIT } from "../../src/http/api-bars.ts"
import { pollUntil } from "../../src/services/poll.ts"
import { openPostgres } from "../../src/services/postgres.ts"
import { localObjectStore, writeRows } from "../../src/storage/index.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"
import { LatencyRecorder } from "../lib/histogram.ts"
import { engineTarget } from "../lib/latency-targets.ts"
import { runOpenLoop } from "../lib/open-loop.ts"

export const GOAL_FACTOR = 2

const plan = (size: BenchContext["size"]) =>
  size === "tiny"
    ? { rate: 200, warmupMs: 500, windowMs: 1_000, windows: 4, bars: 6_000, limit: 2_000 }
    : { rate: 1_000, warmupMs: 2_000, windowMs: 3_000, windows: 12, bars: 500_000, limit: MAX_LIMIT }

const T0 = Date.UTC(2023, 0, 2)
const SYMBOL = "READ"

/** Pages through the series while `reading()` holds; a page in flight is cut when it ends. */
const reader = (port: number, to: number, limit: number, reading: (now: number) => number | undefined) => {
  let stop = false
  let rows = 0
  let pages = 0
  let cut = 0
  let readingMs = 0
  let next: string | null = null
  const done = (async () => {
    while (!stop) {
      const windowEnd = reading(performance.now())
      if (windowEnd === undefined) { await new Promise((r) => setTimeout(r, 5)); continue }
      const started = performance.now()
      const abort = new AbortController()
      const timer = setTimeout(() => abort.abort(), Math.max(0, windowEnd - started))
      try {
        const q = `symbol=${SYMBOL}&interval=1min&from=${T0}&to=${to}&limit=${limit}${next ? `&next=${next}` : ""}`
        const r = await fetch(`http://127.0.0.1:${port}/api/bars?${q}`, { signal: abort.signal })
        if (r.status !== 200 || !r.body) throw new Error(`/api/bars answered ${r.status}`)
        // Bars are counted as they stream by (a page cut at a window's end counts what came);
        // only the tail is kept, for next.
        let tail = ""
        const decoder = new TextDecoder()
        for await (const chunk of r.body) {
          const text = decoder.decode(chunk as Uint8Array, { stream: true })
          for (let i = text.indexOf('"ts":'); i >= 0; i = text.indexOf('"ts":', i + 5)) rows++
          tail = (tail + text).slice(-200)
        }
        const m = /"count":(\d+),"next":(null|"(-?\d+)")\}$/.exec(tail)
        if (!m) throw new Error(`/api/bars body ended without count and next: …${tail}`)
        pages++
        next = m[3] ?? null
      } catch (e) {
        if (!abort.signal.aborted) throw e
        cut++
      } finally {
        clearTimeout(timer)
        readingMs += performance.now() - started
      }
    }
  })()
  return { stop: async () => { stop = true; await done; return { rows, pages, cut, readingMs } } }
}

export const scenario: Scenario = {
  name: "read-during-ingest",
  description: "ingest commit latency (XADD → its command readable) at a fixed rate, with and without a concurrent large /api/bars read, same engine, same run",
  run: async (ctx) => {
    const p = plan(ctx.size)
    const minute = sampleBars(SYMBOL, "1min", T0, p.bars)
    const to = T0 + p.bars * 60_000
    const total = Math.round((p.rate * (p.warmupMs + p.windows * p.windowMs)) / 1000)
    const intended = new Float64Array(total)
    const sentAt = new Float64Array(total)
    const seen = new Uint8Array(total)
    const recorders: readonly [LatencyRecorder, LatencyRecorder] = [new LatencyRecorder(), new LatencyRecorder()]
    const measured: [number, number] = [0, 0]
    let start = Infinity
    // Window kind of a clock time: undefined in warm-up, 0 quiet, 1 reading.
    const kindAt = (t: number): 0 | 1 | undefined => {
      const w = Math.floor((t - start - p.warmupMs) / p.windowMs)
      return t - start < p.warmupMs || w >= p.windows ? undefined : ((w % 2) as 0 | 1)
    }
    const readingUntil = (t: number) =>
      kindAt(t) === 1 ? start + p.warmupMs + (Math.floor((t - start - p.warmupMs) / p.windowMs) + 1) * p.windowMs : undefined
    // Only the outputs the schedule owes are measured (a symbol's first event may owe one too).
    let emits: (seq: number) => boolean = () => false
    const target = await engineTarget(ctx, (seq, at) => {
      if (seq < 0 || seq >= total || seen[seq] || !emits(seq)) return
      seen[seq] = 1
      const kind = kindAt(intended[seq] as number)
      if (kind === undefined) return
      recorders[kind].record(intended[seq] as number, sentAt[seq] as number, at)
      measured[kind]++
    })
    emits = target.emits
    try {
      // The child's log file is written behind its stdout: wait for the line naming the port.
      const portOf = () => Number(/"http":"http:\/\/[^:]+:(\d+)"/.exec(readFileSync(target.logFile, "utf8"))?.[1] ?? 0)
      await pollUntil(`the engine's HTTP port in ${target.logFile}`, () => portOf() > 0, 30_000)
      const port = portOf()
      // The bars go in after the engine's first tiering pass (run at start) has seen empty
      // tables; the next is an hour away, so the series stays as written during the run.
      await pollUntil("the engine's first tiering pass", () => /tiering pass (done|failed)/.test(readFileSync(target.logFile, "utf8")), 60_000)
      const sql = openPostgres(ctx.databaseUrl, target.ns.schema, 2)
      try {
        await writeRows({ sql, store: localObjectStore(target.ns.config.storage.lake) }, "bars", minute, T0 + Math.floor(p.bars / 2) * 60_000)
      } finally {
        await sql.end({ timeout: 2 })
      }
      start = performance.now() + 20
      const read = reader(port, to, p.limit, readingUntil)
      await runOpenLoop({ start, rate: p.rate, total }, (events, now) => {
        for (const e of events) {
          intended[e.seq] = e.intended
          sentAt[e.seq] = now
        }
        return target.send(events)
      })
      const r = await read.stop()
      const expected: [number, number] = [0, 0]
      for (let i = 0; i < total; i++) {
        const kind = kindAt(intended[i] as number)
        if (kind !== undefined && target.emits(i)) expected[kind]++
      }
      const deadline = performance.now() + 15_000
      while ((measured[0] < expected[0] || measured[1] < expected[1]) && performance.now() < deadline) {
        await new Promise((res) => setTimeout(res, 10))
      }
      const quiet = recorders[0].summary().corrected
      const reading = recorders[1].summary().corrected
      const rate = `${p.rate / 1000}k ev/s`
      ctx.log(`read-during-ingest @ ${rate}: p99 quiet ${quiet.p99.toFixed(2)} ms, reading ${reading.p99.toFixed(2)} ms; ${r.rows} bars, ${r.pages} whole pages (${r.cut} cut at a window's end) over ${(r.readingMs / 1000).toFixed(1)} s`)
      const fig = (metric: string, stat: "p50" | "p99" | "max", goal: boolean): BenchFigure => ({
        scenario: "read-during-ingest", metric: `commit corrected ${stat} during /api/bars reads @ ${rate}`,
        value: reading[stat], unit: "ms",
        baseline: { name: `${metric} ${stat}, no read (same run)`, value: quiet[stat] },
        ratio: quiet[stat] > 0 ? reading[stat] / quiet[stat] : 0,
        ...(goal ? { goal: `≤ ${GOAL_FACTOR}× without reads (lower is better)`, pass: reading[stat] <= GOAL_FACTOR * quiet[stat] } : {})
      })
      return [
        fig("commit corrected", "p50", false),
        fig("commit corrected", "p99", true),
        fig("commit corrected", "max", false),
        {
          scenario: "read-during-ingest", metric: `bars streamed per second of reading (pages of ${p.limit.toLocaleString("en-US")})`,
          value: r.readingMs > 0 ? (r.rows * 1000) / r.readingMs : 0, unit: "bars/s"
        },
        {
          scenario: "read-during-ingest", metric: "outputs lost (reading windows)", value: expected[1] - measured[1], unit: "events",
          baseline: { name: "lost in quiet windows", value: expected[0] - measured[0] }
        }
      ]
    } finally {
      for (const x of recorders) x.destroy()
      await target.stop()
    }
  }
}

export default scenario
