/**
 * Writing and removing cold rows: rows as Parquet part objects, one interval and one period
 * per object (layout.ts), each listed in the manifest in the step that makes it visible
 * (cold-commit.ts).
 * A write groups rows by series and period; rows whose key the tier already holds are
 * dropped (the stored row wins, as in the hot tier's ON CONFLICT DO NOTHING) — only the
 * objects whose time range overlaps the new rows are read for that, so appending later
 * rows reads nothing — and the rest become one new part per period. Re-running a write
 * adds nothing. Compaction (compaction.ts) merges a period's parts later.
 * `removeColdRange` takes exactly the rows in [from, to) of a series out of the tier:
 * objects wholly inside are dropped, straddling ones replaced by a part without those
 * rows, all in one manifest transaction, so a rerun after a crash converges.
 * Does not decide which rows are cold, nor record coverage. Reading: cold-read.ts.
 */
import type { RowsOf, StorageKind } from "../domain/rows.ts"
import { naturalKey, rowTime } from "../domain/rows.ts"
import { deleteReplaced, putObject, sweepSeries, withSeries, type Lake, type Lock } from "./cold-commit.ts"
import { readObjectRows } from "./cold-read.ts"
import { periodSpan } from "./layout.ts"
import { commitObjects, objectsOverlapping, type ColdObject, type ColdSeries } from "./manifest.ts"

export type { Lake, Lock } from "./cold-commit.ts"
export { coldChunks, coldKeys, coldObjects, readCold, readObject } from "./cold-read.ts"

const intervalOf = (row: object): string => ("interval" in row ? String(row.interval) : "")

/** Rows grouped by series and period: `kind|symbol|interval|periodFrom` → rows. */
export const groupByPeriod = <K extends StorageKind>(kind: K, rows: readonly RowsOf[K][]): Map<string, RowsOf[K][]> => {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const groups = new Map<string, RowsOf[K][]>()
  for (const r of rows) {
    const interval = intervalOf(r)
    const k = `${kind}|${r.symbol}|${interval}|${periodSpan(kind, interval, time(r)).from}`
    const g = groups.get(k)
    if (g) g.push(r)
    else groups.set(k, [r])
  }
  return groups
}

const seriesOfGroup = <K extends StorageKind>(kind: K, rows: readonly RowsOf[K][]): ColdSeries & { kind: K } => {
  const first = rows[0] as RowsOf[K]
  return { kind, symbol: first.symbol, interval: intervalOf(first) }
}

/**
 * Of `rows` (one series), those whose natural key no visible object holds. Reads only the
 * objects whose time range overlaps the rows', and in them only the overlapping row groups.
 */
export const freshRows = async <K extends StorageKind>(
  lake: Lake, conn: Lake["sql"], s: ColdSeries & { kind: K }, rows: readonly RowsOf[K][]
): Promise<RowsOf[K][]> => {
  const time = rowTime[s.kind] as (r: RowsOf[K]) => number
  const key = naturalKey[s.kind] as (r: RowsOf[K]) => string
  let min = Infinity
  let max = -Infinity
  for (const r of rows) { min = Math.min(min, time(r)); max = Math.max(max, time(r)) }
  const seen = new Set<string>()
  const out: RowsOf[K][] = []
  const held = new Set<string>()
  for (const o of await objectsOverlapping(conn, lake.store.location, s, min, max + 1)) {
    for (const r of await readObjectRows(lake.store, s.kind, o, { from: min, to: max + 1 })) held.add(key(r))
  }
  for (const r of rows) {
    const k = key(r)
    if (held.has(k) || seen.has(k)) continue
    seen.add(k)
    out.push(r)
  }
  return out
}

export interface ColdWrite {
  /** Rows the tier did not hold before. */
  readonly rows: number
  /** Keys of the objects written. */
  readonly objects: string[]
}

/**
 * Add `rows` to the cold tier: per series, under its lock, the fresh rows of each period
 * become one new part, all committed to the manifest in one transaction. With `verify`,
 * each object is read back and its checksum compared before the commit. `lock`, when
 * given, is held around each series' change as well (a caller's own serialisation).
 */
export const writeCold = async <K extends StorageKind>(
  lake: Lake, kind: K, rows: readonly RowsOf[K][], options: { lock?: Lock; verify?: boolean } = {}
): Promise<ColdWrite> => {
  const bySeries = new Map<string, RowsOf[K][][]>()
  for (const [k, group] of groupByPeriod(kind, rows)) {
    const s = k.slice(0, k.lastIndexOf("|"))
    const list = bySeries.get(s)
    if (list) list.push(group)
    else bySeries.set(s, [group])
  }
  let added = 0
  const objects: string[] = []
  for (const [name, groups] of bySeries) {
    const s = seriesOfGroup(kind, groups[0] as RowsOf[K][])
    const change = () => withSeries(lake, s, async (conn, inTx) => {
      await sweepSeries(lake, conn, s)
      const written: ColdObject[] = []
      for (const group of groups) {
        const fresh = await freshRows(lake, conn, s, group)
        if (fresh.length > 0) written.push(await putObject(lake, conn, s, fresh, { verify: options.verify ?? false }))
      }
      if (written.length === 0) return
      await inTx(() => commitObjects(conn, lake.store.location, written, []))
      for (const o of written) { added += o.rows; objects.push(o.key) }
    })
    await (options.lock ? options.lock(`cold-write|${name}`, change) : change())
  }
  return { rows: added, objects: objects.sort() }
}

export interface ColdRemoval {
  /** Rows taken out of the tier. */
  rows: number
  /** Objects dropped whole, and replaced by a part without the removed rows. */
  objectsDeleted: number
  objectsTrimmed: number
}

/**
 * Inside `withSeries`: take the rows with time in [from, to) out of the series. Objects
 * wholly inside are dropped without being read; straddling ones are read, and replaced
 * by a part holding the rest. One manifest commit for all of it, then the replaced objects
 * are deleted from the store.
 */
export const removeRange = async (
  lake: Lake, conn: Lake["sql"], inTx: <R>(body: () => Promise<R>) => Promise<R>, s: ColdSeries, from: number, to: number
): Promise<ColdRemoval> => {
  const time = rowTime[s.kind] as (r: RowsOf[StorageKind]) => number
  const report: ColdRemoval = { rows: 0, objectsDeleted: 0, objectsTrimmed: 0 }
  const removed: ColdObject[] = []
  const added: ColdObject[] = []
  for (const o of await objectsOverlapping(conn, lake.store.location, s, from, to)) {
    if (o.minMs >= from && o.maxMs < to) {
      removed.push(o)
      report.rows += o.rows
      report.objectsDeleted++
      continue
    }
    const rows = await readObjectRows(lake.store, s.kind, o)
    const kept = rows.filter((r) => { const t = time(r); return t < from || t >= to })
    if (kept.length === rows.length) continue
    removed.push(o)
    report.rows += rows.length - kept.length
    if (kept.length === 0) report.objectsDeleted++
    else {
      added.push(await putObject(lake, conn, s, kept))
      report.objectsTrimmed++
    }
  }
  if (removed.length === 0) return report
  await inTx(() => commitObjects(conn, lake.store.location, added, removed))
  await deleteReplaced(lake, conn, removed.map((o) => o.key))
  return report
}

/**
 * Remove exactly the rows with time in [from, to) of one series from the cold tier
 * (a warm-up calls it after writing those rows hot). Crash-safe and idempotent: every
 * change is one manifest transaction, and a rerun finds nothing left to remove, or
 * finishes what a crashed run left. `lock`, when given, is held around the change as well.
 */
export const removeColdRange = async (
  lake: Lake, kind: StorageKind, symbol: string, interval: string, from: number, to: number, lock?: Lock
): Promise<void> => {
  if (!(to > from)) return
  const s: ColdSeries = { kind, symbol, interval }
  const change = () => withSeries(lake, s, async (conn, inTx) => {
    await sweepSeries(lake, conn, s)
    await removeRange(lake, conn, inTx, s, from, to)
  })
  await (lock ? lock(`cold-remove|${kind}|${symbol}|${interval}`, change) : change())
}
