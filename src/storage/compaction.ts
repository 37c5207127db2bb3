/**
 * Compaction: the parts of one period of a series merged into one object, and objects of
 * the earlier layout rewritten as parts (what `strata lake migrate` relies on).
 * A merge runs under the series lock: read every part of the period, unite them by natural
 * key, write one new object, read it back, then one manifest transaction swaps the parts
 * for it; the parts are deleted from the store afterwards. A crash at any step leaves
 * either the parts or the merged object visible, never both or neither, and whatever is
 * left in the store unnamed is deleted by the next change of the series.
 * Which periods to merge: a period with an object of the earlier layout always; a closed
 * period (ended before `now`) with more than one part; an open one once it has more than
 * `maxParts` parts (so a period still filling up day by day is not rewritten every day);
 * with `full`, every period with more than one part. The work list is a manifest query:
 * compaction never lists the store.
 * Does not move rows between tiers or expire them (tiering.ts).
 */
import type { RowsOf, StorageKind } from "../domain/rows.ts"
import { naturalKey } from "../domain/rows.ts"
import { deleteReplaced, putObject, sweepSeries, withSeries, type Lake } from "./cold-commit.ts"
import { readObjectRows } from "./cold-read.ts"
import { periodSpan } from "./layout.ts"
import { commitObjects, objectsOfPeriod, pendingOf, periodsToMerge, type ColdSeries } from "./manifest.ts"

export interface CompactionOptions {
  /** Periods ending at or before this are closed (ms). Default: never closed. */
  readonly now?: number
  /** An open period is merged once it holds more than this many parts. */
  readonly maxParts?: number
  /** Merge every period with more than one part. */
  readonly full?: boolean
  /** Only these symbols. */
  readonly symbols?: readonly string[]
  /** Only periods holding objects of the earlier layout (migration). */
  readonly legacyOnly?: boolean
  readonly onPeriod?: (done: number, total: number) => void
}

export interface CompactionReport {
  /** Periods merged, parts they held, objects written. */
  periods: number
  parts: number
  rows: number
  /** Unnamed leftovers (a dead writer's object, a replaced object) deleted. */
  swept: number
}

export const DEFAULT_MAX_PARTS = 4

const isLegacyKey = (key: string) => key.endsWith("/data.parquet")

/** Merge the objects of one period into one. Returns the parts merged (0: nothing to do). */
export const compactPeriod = async (lake: Lake, s: ColdSeries, periodFrom: number, report?: CompactionReport): Promise<number> =>
  withSeries(lake, s, async (conn, inTx) => {
    const swept = await sweepSeries(lake, conn, s)
    if (report) report.swept += swept
    const parts = await objectsOfPeriod(conn, lake.store.location, s, periodFrom)
    if (parts.length < 2 && !parts.some((p) => isLegacyKey(p.key))) return 0
    const key = naturalKey[s.kind] as (r: RowsOf[StorageKind]) => string
    const byKey = new Map<string, RowsOf[StorageKind]>()
    for (const p of parts) {
      for (const r of await readObjectRows(lake.store, s.kind, p)) if (!byKey.has(key(r))) byKey.set(key(r), r)
    }
    const merged = byKey.size > 0 ? [await putObject(lake, conn, s, [...byKey.values()], { verify: true })] : []
    await inTx(() => commitObjects(conn, lake.store.location, merged, parts))
    await deleteReplaced(lake, conn, parts.map((p) => p.key))
    if (report) { report.periods++; report.parts += parts.length; report.rows += byKey.size }
    return parts.length
  })

/** Sweep every series with unnamed pending objects (a crashed writer's or a replaced object). */
export const sweepLake = async (lake: Lake): Promise<number> => {
  const bySeries = new Map<string, ColdSeries>()
  for (const p of await pendingOf(lake.sql, lake.store.location)) bySeries.set(`${p.kind}|${p.symbol}|${p.interval}`, p)
  let n = 0
  for (const s of bySeries.values()) n += await withSeries(lake, s, (conn) => sweepSeries(lake, conn, s))
  return n
}

/** One compaction pass over the lake (see the module header for which periods). */
export const runCompaction = async (lake: Lake, options: CompactionOptions = {}): Promise<CompactionReport> => {
  const report: CompactionReport = { periods: 0, parts: 0, rows: 0, swept: 0 }
  const maxParts = options.maxParts ?? DEFAULT_MAX_PARTS
  const only = options.symbols ? new Set(options.symbols) : undefined
  const todo = (await periodsToMerge(lake.sql, lake.store.location)).filter((p) => {
    if (only && !only.has(p.symbol)) return false
    if (p.legacy) return true
    if (options.legacyOnly) return false
    if (options.full) return true
    const closed = options.now !== undefined && periodSpan(p.kind, p.interval, p.periodFrom).to <= options.now
    return closed || p.parts > maxParts
  })
  for (const [i, p] of todo.entries()) {
    await compactPeriod(lake, p, p.periodFrom, report)
    options.onPeriod?.(i + 1, todo.length)
  }
  report.swept += await sweepLake(lake)
  return report
}
