/**
 * The earlier cold layout's writer, kept only to build lakes as earlier versions wrote
 * them: one `data.parquet` per series and period (1-minute and 5-minute bars per day,
 * hourly per month, daily per year), each read, united with the new rows and rewritten
 * whole. The bench measures it as the "before" of the lake figures; the migration tests
 * migrate what it wrote. The engine never calls it.
 */
import type { RowsOf, StorageKind } from "../../src/domain/rows.ts"
import { naturalKey, rowTime } from "../../src/domain/rows.ts"
import { readObject } from "../../src/storage/cold-read.ts"
import { legacyObjectKey } from "../../src/storage/layout.ts"
import type { ObjectStore } from "../../src/storage/object-store.ts"
import { encodeParquet } from "../../src/storage/parquet.ts"

const intervalOf = (row: object): string => ("interval" in row ? String(row.interval) : "")

/** Merge rows into their earlier-layout objects; returns the keys written. */
export const writeLegacyCold = async <K extends StorageKind>(store: ObjectStore, kind: K, rows: readonly RowsOf[K][]): Promise<string[]> => {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  const groups = new Map<string, RowsOf[K][]>()
  for (const r of rows) {
    const k = legacyObjectKey(kind, r.symbol, intervalOf(r), time(r))
    const g = groups.get(k)
    if (g) g.push(r)
    else groups.set(k, [r])
  }
  const written: string[] = []
  for (const [objKey, group] of groups) {
    const byKey = new Map<string, RowsOf[K]>()
    for (const r of (await readObject(store, kind, objKey)) ?? []) byKey.set(key(r), r)
    const before = byKey.size
    for (const r of group) if (!byKey.has(key(r))) byKey.set(key(r), r)
    if (byKey.size === before) continue
    await store.put(objKey, encodeParquet(kind, [...byKey.values()]))
    written.push(objKey)
  }
  return written.sort()
}
