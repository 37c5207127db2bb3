/**
 * `strata gaps` over a universe of L1 symbols (2,000 at full size, 20 tiny) holding the
 * default L1 `market_data` window (1day and 1hour bars: 30 days hot, 365 days in all), with
 * a few sessions removed: seconds for one run of `findGaps`, SQL queries and object-store
 * requests it issued, beside the per-session way (one count query per session, measured
 * on a sample of symbols and scaled to the universe). Intraday bars are left out here:
 * a year of 1-minute bars for 2,000 symbols (~200M rows) is beyond a bench run; their cost
 * per series is one more hot query per batch and one cold read per series.
 */
import { join } from "node:path"
import { rowsOf } from "../../src/backfill/providers/synthetic.ts"
import { BACKFILL_DDL } from "../../src/app/worker-process.ts"
import { calendarOf } from "../../src/domain/calendar.ts"
import type { Layer } from "../../src/domain/layers.ts"
import type { Bar } from "../../src/domain/rows.ts"
import { findGaps } from "../../src/heal/gaps.ts"
import { owedSessions } from "../../src/heal/owed.ts"
import { migrate, openPostgres } from "../../src/services/postgres.ts"
import { writeCold } from "../../src/storage/cold-store.ts"
import { countHot, deleteHot, writeHot } from "../../src/storage/hot-store.ts"
import { localObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import type { Scenario } from "../scenario.ts"

const NOW = Date.UTC(2026, 10, 20, 22)
const SAMPLE = 20

/** The store, counting every request made of it. */
const counted = (store: ObjectStore) => {
  const n = { requests: 0 }
  const wrap = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => (...a: A) => { n.requests++; return f(...a) }
  const s: ObjectStore = { ...store, get: wrap(store.get.bind(store)), size: wrap(store.size.bind(store)), list: wrap(store.list.bind(store)) }
  return { store: s, n }
}

export const scenario: Scenario = {
  name: "gaps",
  description: "strata gaps over 2,000 L1 symbols (daily and hourly bars, both tiers): seconds and queries, vs a count query per session",
  run: async (ctx) => {
    const symbols = Array.from({ length: ctx.size === "tiny" ? 20 : 2000 }, (_, i) => `S${String(i).padStart(4, "0")}`)
    const lake = join(ctx.tmpDir, "lake-gaps")
    const ns = await benchNamespace(ctx, "gaps", { storage: { lake } })
    const sql = openPostgres(ctx.databaseUrl, ns.schema, 4)
    const raw = localObjectStore(lake)
    const cal = calendarOf("XNYS")
    try {
      await migrate(sql, ns.schema, BACKFILL_DDL)
      const owed = owedSessions(ns.config.retention, cal, 1, ["market_data"], NOW)
      const filled = performance.now()
      for (let i = 0; i < symbols.length; i += 50) {
        const hot: Bar[] = []
        await Promise.all(symbols.slice(i, i + 50).map(async (symbol) => {
          for (const o of owed) {
            const rows = rowsOf(42, { symbol, kind: "bars", interval: o.interval, from: o.from, to: o.to }, { now: NOW })
            hot.push(...rows.filter((r) => r.ts >= o.hotFrom))
            await writeCold({ sql, store: raw }, "bars", rows.filter((r) => r.ts < o.hotFrom))
          }
        }))
        await writeHot(sql, "bars", hot)
      }
      // A few sessions go missing: one hot daily bar every 100 symbols.
      const day = owed[0]!.sessions.at(-2)!.session.day
      for (let i = 0; i < symbols.length; i += 100) await deleteHot(sql, "bars", { symbol: symbols[i]!, interval: owed[0]!.interval }, day, day + 86_400_000)
      ctx.log(`gaps: filled ${symbols.length} symbols in ${((performance.now() - filled) / 1000).toFixed(0)} s`)

      const { store, n } = counted(raw)
      const layers = new Map<string, Layer>(symbols.map((s) => [s, 1]))
      const started = performance.now()
      const report = await findGaps({ sql, store }, { policy: ns.config.retention, calendar: cal, now: NOW, layers, dataTypes: ["market_data"] })
      const seconds = (performance.now() - started) / 1000
      ctx.log(`gaps: ${report.gaps.length} gaps of ${report.sessions} sessions, ${report.stats.sqlQueries} SQL queries, ${n.requests} store requests`)

      // The per-session way, hot tier only, on a sample: one count query per session.
      const sample = symbols.slice(0, Math.min(SAMPLE, symbols.length))
      const perStarted = performance.now()
      for (const symbol of sample) for (const o of owed) for (const s of o.sessions) {
        await countHot(sql, "bars", { symbol, interval: o.interval }, s.session.day, s.session.day + 86_400_000)
      }
      const perSession = ((performance.now() - perStarted) / 1000) * (symbols.length / sample.length)
      const perSessionQueries = report.sessions
      return [
        {
          scenario: "gaps", metric: `strata gaps, ${symbols.length} L1 symbols (${report.sessions} sessions)`, value: Number(seconds.toFixed(2)), unit: "s",
          baseline: { name: "a count query per session, hot tier only (sample scaled)", value: Number(perSession.toFixed(2)) },
          ratio: seconds / perSession, goal: "below the per-session way", pass: seconds < perSession
        },
        {
          scenario: "gaps", metric: "SQL queries issued", value: report.stats.sqlQueries, unit: "queries",
          baseline: { name: "a query per session", value: perSessionQueries }, ratio: report.stats.sqlQueries / perSessionQueries
        },
        { scenario: "gaps", metric: "object-store requests (list, size, get)", value: n.requests, unit: "requests" },
        { scenario: "gaps", metric: "gaps found (one removed every 100 symbols)", value: report.gaps.length, unit: "sessions",
          pass: report.gaps.length === Math.ceil(symbols.length / 100) }
      ]
    } finally {
      await raw.close()
      await sql.end({ timeout: 2 })
      await ns.cleanup()
    }
  }
}

export default scenario
