/**
 * Bars held per trading session, per tier, counted in bulk: the hot tier with one
 * GROUP BY query per interval and batch of symbols (rows per UTC day: an exchange session
 * of XNYS lies inside its UTC date), the cold tier through the read path (readCold) once
 * per series over its whole window. Never a query per session.
 * Does not decide what is owed: gaps.ts compares these counts with the calendar.
 */
import { HOT_TABLES } from "../storage/hot-store.ts"
import type { Lake } from "../storage/cold-commit.ts"
import { readCold } from "../storage/cold-store.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import type { Sql } from "../services/postgres.ts"
import { DAY_MS } from "../domain/time.ts"

/** Rows per session day (00:00 UTC of the session's date). */
export type DayCounts = Map<number, number>

/** What the counting cost. */
export interface CountStats { sqlQueries: number; coldSeries: number }

const BATCH = 1000

/**
 * Hot bars of `interval` per symbol and day with ts in [from, to), for many symbols at once
 * (one query per batch of symbols; the primary key (symbol, interval, ts) serves it).
 */
export const hotDayCounts = async (
  sql: Sql, interval: string, symbols: readonly string[], from: number, to: number, stats: CountStats
): Promise<Map<string, DayCounts>> => {
  const t = HOT_TABLES.bars
  const out = new Map<string, DayCounts>()
  for (let i = 0; i < symbols.length; i += BATCH) {
    const batch = symbols.slice(i, i + BATCH)
    stats.sqlQueries++
    const rows = await sql.unsafe(
      `SELECT symbol, floor(extract(epoch FROM ts) / 86400)::float8 * 86400000 AS day, count(*)::int AS n
       FROM ${t.table}
       WHERE symbol = ANY($1) AND interval = $2
         AND ts >= 'epoch'::timestamptz + $3::bigint * interval '1 millisecond'
         AND ts <  'epoch'::timestamptz + $4::bigint * interval '1 millisecond'
       GROUP BY 1, 2`,
      [batch as string[], interval, Math.trunc(from), Math.trunc(to)]
    ) as unknown as { symbol: string; day: number; n: number }[]
    for (const r of rows) {
      let m = out.get(r.symbol)
      if (!m) out.set(r.symbol, (m = new Map()))
      m.set(Number(r.day), r.n)
    }
  }
  return out
}

/** Cold bars of one series per day with ts in [from, to), through the read path (de-duplicated by ts). */
export const coldDayCounts = async (
  lake: Lake, symbol: string, interval: string, from: number, to: number, stats: CountStats
): Promise<DayCounts> => {
  stats.coldSeries++
  // Through the manifest: no listing of the store.
  const rows = await readCold(lake, "bars", symbol, interval, from, to)
  const seen = new Set<number>()
  const out: DayCounts = new Map()
  for (const r of rows) {
    if (seen.has(r.ts)) continue
    seen.add(r.ts)
    const day = Math.floor(r.ts / DAY_MS) * DAY_MS
    out.set(day, (out.get(day) ?? 0) + 1)
  }
  return out
}
