/**
 * The coverage ledger: which time ranges of each series (kind, symbol, interval) have been
 * fetched and stored, and in which tier. Ranges are what was fetched, not where rows
 * exist, so weekends and days without data are covered too.
 * Every change of one series runs in one transaction under an advisory lock on that
 * series, reading its ranges, computing the new ones (ranges.ts) and writing them back
 * merged, so concurrent workers never lose each other's ranges and the table stays small.
 * Does not fetch, plan or move data.
 */
import type { StorageKind } from "../domain/rows.ts"
import type { SeriesRange } from "../domain/series.ts"
import type { Sql } from "../services/postgres.ts"
import { clipRanges, mergeRanges, removeRange, type Range } from "../domain/ranges.ts"

export type Tier = "hot" | "cold"

export const COVERAGE_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS storage_coverage (
     kind        text NOT NULL,
     symbol      text NOT NULL,
     interval    text NOT NULL DEFAULT '',
     tier        text NOT NULL CHECK (tier IN ('hot', 'cold')),
     from_ms     bigint NOT NULL,
     to_ms       bigint NOT NULL CHECK (to_ms > from_ms),
     recorded_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (kind, symbol, interval, tier, from_ms)
   )`
]

/** A range [from, to) of a series, fetched and stored in `tier`. */
export interface CoverageEntry extends SeriesRange {
  readonly tier: Tier
}

interface ByTier { hot: Range[]; cold: Range[] }

/** Read, change and write back one series' ranges atomically. */
const mutate = async (
  sql: Sql, kind: StorageKind, symbol: string, interval: string, change: (current: ByTier) => ByTier
): Promise<void> => {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`coverage|${kind}|${symbol}|${interval}`}))`
    const rows = await tx<{ tier: Tier; from_ms: number; to_ms: number }[]>`
      SELECT tier, from_ms::float8 AS from_ms, to_ms::float8 AS to_ms FROM storage_coverage
      WHERE kind = ${kind} AND symbol = ${symbol} AND interval = ${interval}`
    const current: ByTier = { hot: [], cold: [] }
    for (const r of rows) current[r.tier].push({ from: r.from_ms, to: r.to_ms })
    const next = change(current)
    await tx`DELETE FROM storage_coverage WHERE kind = ${kind} AND symbol = ${symbol} AND interval = ${interval}`
    const values = (["hot", "cold"] as const).flatMap((tier) =>
      mergeRanges(next[tier]).map((r) => ({ kind, symbol, interval, tier, from_ms: r.from, to_ms: r.to })))
    if (values.length > 0) await tx`INSERT INTO storage_coverage ${tx(values, "kind", "symbol", "interval", "tier", "from_ms", "to_ms")}`
  })
}

/** Record that [from, to) of a series has been fetched and stored in `tier`. */
export const recordCoverage = async (sql: Sql, e: CoverageEntry): Promise<void> => {
  if (e.to <= e.from) return
  await mutate(sql, e.kind, e.symbol, e.interval, (c) => ({ ...c, [e.tier]: [...c[e.tier], { from: e.from, to: e.to }] }))
}

/** Ranges held of a series, merged over both tiers, sorted. */
export const coveredRanges = async (sql: Sql, kind: StorageKind, symbol: string, interval: string): Promise<Range[]> => {
  const c = await coverageByTier(sql, kind, symbol, interval)
  return mergeRanges([...c.hot, ...c.cold])
}

/** Ranges held of a series, per tier. */
export const coverageByTier = async (sql: Sql, kind: StorageKind, symbol: string, interval: string): Promise<ByTier> => {
  const rows = await sql<{ tier: Tier; from_ms: number; to_ms: number }[]>`
    SELECT tier, from_ms::float8 AS from_ms, to_ms::float8 AS to_ms FROM storage_coverage
    WHERE kind = ${kind} AND symbol = ${symbol} AND interval = ${interval} ORDER BY from_ms`
  const out: ByTier = { hot: [], cold: [] }
  for (const r of rows) out[r.tier].push({ from: r.from_ms, to: r.to_ms })
  return { hot: mergeRanges(out.hot), cold: mergeRanges(out.cold) }
}

/** Forget coverage of a series: all of it, or only `range` (both tiers). */
export const clearCoverage = async (
  sql: Sql, kind: StorageKind, symbol: string, interval: string, range?: Range
): Promise<void> => {
  await mutate(sql, kind, symbol, interval, (c) =>
    range ? { hot: removeRange(c.hot, range), cold: removeRange(c.cold, range) } : { hot: [], cold: [] })
}

/** Move the part of `range` held in tier `from` to tier `to` (tiering moved those rows). */
export const retierCoverage = async (
  sql: Sql, kind: StorageKind, symbol: string, interval: string, range: Range, from: Tier, to: Tier
): Promise<void> => {
  if (from === to) return
  await mutate(sql, kind, symbol, interval, (c) => {
    const moved = clipRanges(c[from], range)
    return { [from]: removeRange(c[from], range), [to]: [...c[to], ...moved] } as unknown as ByTier
  })
}

/** Every series with coverage of a kind (retention and demotion find their work here). */
export const coveredSeries = async (sql: Sql, kind: StorageKind): Promise<{ symbol: string; interval: string }[]> =>
  sql<{ symbol: string; interval: string }[]>`
    SELECT DISTINCT symbol, interval FROM storage_coverage WHERE kind = ${kind} ORDER BY symbol, interval`
