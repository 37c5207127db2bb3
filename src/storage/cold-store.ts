/**
 * The cold tier: rows as Parquet objects in the object store, one object per series and
 * period (layout.ts), one interval per object.
 * A write groups rows by object; an object that already exists is read, united with the
 * new rows, de-duplicated by natural key (the stored row wins, as in the hot tier's
 * ON CONFLICT DO NOTHING) and written whole, so re-running a write adds nothing.
 * Read-modify-write of one object must not interleave with another writer of the same
 * object: callers that may race pass `lock` (write-router.ts passes a PostgreSQL advisory
 * lock, which holds across processes).
 * `removeColdRange` takes a time range of one series out of the cold tier (tiering's expiry,
 * the warm-up's cold side), under the same lock.
 * Does not decide which rows are cold, nor record coverage.
 */
import type { AsyncBuffer } from "hyparquet"
import type { RowsOf, StorageKind } from "../domain/rows.ts"
import { naturalKey, rowTime } from "../domain/rows.ts"
import { objectAsyncBuffer, type ObjectStore } from "./object-store.ts"
import { listPrefixes, objectKey, objectSpan, overlappingKeys } from "./layout.ts"
import { bufferOf, decodeParquet, decodeParquetGroups, encodeParquet, parquetRowCount } from "./parquet.ts"

/** Runs `fn` while holding an exclusive lock named `name`. */
export type Lock = <T>(name: string, fn: () => Promise<T>) => Promise<T>

const noLock: Lock = (_name, fn) => fn()

const intervalOf = (row: object): string => ("interval" in row ? String(row.interval) : "")

/** Rows grouped by the object that holds them. */
export const groupByObject = <K extends StorageKind>(kind: K, rows: readonly RowsOf[K][]): Map<string, RowsOf[K][]> => {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const groups = new Map<string, RowsOf[K][]>()
  for (const r of rows) {
    const key = objectKey(kind, r.symbol, intervalOf(r), time(r))
    const g = groups.get(key)
    if (g) g.push(r)
    else groups.set(key, [r])
  }
  return groups
}

/** Every row of one object, undefined when the object does not exist. */
export const readObject = async <K extends StorageKind>(
  store: ObjectStore, kind: K, key: string, window?: { from: number; to: number }
): Promise<RowsOf[K][] | undefined> => {
  const file = await objectAsyncBuffer(store, key)
  return file ? decodeParquet(kind, file, window) : undefined
}

export interface ColdWrite {
  /** Rows the store did not hold before. */
  readonly rows: number
  /** Keys of the objects written. */
  readonly objects: string[]
}

/**
 * Merge `rows` into the objects that hold them. With `verify`, each written object is
 * read back and its row count checked (tiering deletes hot rows only after this).
 */
export const writeCold = async <K extends StorageKind>(
  store: ObjectStore, kind: K, rows: readonly RowsOf[K][], options: { lock?: Lock; verify?: boolean } = {}
): Promise<ColdWrite> => {
  const lock = options.lock ?? noLock
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  let added = 0
  const objects: string[] = []
  for (const [objKey, group] of groupByObject(kind, rows)) {
    await lock(`object|${store.location}|${objKey}`, async () => {
      const existing = (await readObject(store, kind, objKey)) ?? []
      const byKey = new Map<string, RowsOf[K]>()
      for (const r of existing) byKey.set(key(r), r)
      const before = byKey.size
      for (const r of group) if (!byKey.has(key(r))) byKey.set(key(r), r)
      const fresh = byKey.size - before
      // Nothing new: leave the object alone (a rerun writes no object at all).
      if (fresh === 0 && existing.length === byKey.size) return
      const bytes = encodeParquet(kind, [...byKey.values()])
      await store.put(objKey, bytes)
      if (options.verify) {
        const file = await objectAsyncBuffer(store, objKey)
        const n = file ? await parquetRowCount(file) : -1
        const back = file ? (await decodeParquet(kind, file)).length : -1
        if (n !== byKey.size || back !== byKey.size) {
          throw new Error(`object ${objKey} read back ${back} rows (footer ${n}), expected ${byKey.size}`)
        }
      }
      added += fresh
      objects.push(objKey)
    })
  }
  return { rows: added, objects: objects.sort() }
}

export interface ColdRemoval {
  /** Objects deleted (every row of theirs was inside the range). */
  readonly objectsDeleted: number
  /** Objects rewritten without the range's rows. */
  readonly objectsRewritten: number
}

/**
 * Remove exactly the rows of one series with time in [from, to) from the cold tier: an
 * object wholly inside the range is deleted, one straddling it is rewritten (whole and
 * atomically, like any write) without those rows, one holding none of them is left alone.
 * Each object is changed under `lock` (the name writeCold uses), so no row a concurrent
 * writer merges in is lost to a stale read. Idempotent: a rerun after a crash removes what
 * is left and changes nothing else; a missing object is nothing to remove.
 */
export const removeColdRange = async (
  store: ObjectStore, kind: StorageKind, symbol: string, interval: string, from: number, to: number, lock: Lock = noLock
): Promise<ColdRemoval> => {
  let objectsDeleted = 0
  let objectsRewritten = 0
  if (!(to > from)) return { objectsDeleted, objectsRewritten }
  const time = rowTime[kind] as (r: RowsOf[typeof kind]) => number
  for (const key of await coldKeys(store, kind, symbol, interval, from, to)) {
    const span = objectSpan(kind, interval, key)
    if (!span) continue
    await lock(`object|${store.location}|${key}`, async () => {
      if (span.from >= from && span.to <= to) {
        await store.delete(key)
        objectsDeleted++
        return
      }
      const rows = await readObject(store, kind, key)
      if (!rows) return
      const kept = rows.filter((r) => time(r) < from || time(r) >= to)
      if (kept.length === rows.length) return
      if (kept.length === 0) {
        await store.delete(key)
        objectsDeleted++
      } else {
        await store.put(key, encodeParquet(kind, kept))
        objectsRewritten++
      }
    })
  }
  return { objectsDeleted, objectsRewritten }
}

/** Keys of one series' objects overlapping [from, to), listing only the folders that may hold them. */
export const coldKeys = async (
  store: ObjectStore, kind: StorageKind, symbol: string, interval: string, from: number, to: number
): Promise<string[]> => {
  const listed = await Promise.all(listPrefixes(kind, symbol, interval, from, to).map((p) => store.list(p)))
  return overlappingKeys(kind, interval, listed.flat(), from, to)
}

// Objects up to this size are fetched in one ranged read: fewer round trips than reading
// footer and row groups apart. Larger ones are read footer first, then only the row groups
// whose time statistics overlap the query.
const WHOLE_OBJECT_BYTES = 4 * 1024 * 1024

const readWindow = async <K extends StorageKind>(
  store: ObjectStore, kind: K, key: string, window: { from: number; to: number } | undefined
): Promise<RowsOf[K][]> => {
  const size = await store.size(key)
  if (size === undefined) return []
  if (size <= WHOLE_OBJECT_BYTES || window === undefined) {
    const bytes = await store.get(key, { start: 0, end: size })
    return bytes ? decodeParquet(kind, bufferOf(bytes), window) : []
  }
  return (await readObject(store, kind, key, window)) ?? []
}

/** Rows of one series with time in [from, to) held cold, object by object, each in time order. */
export const readCold = async <K extends StorageKind>(
  store: ObjectStore, kind: K, symbol: string, interval: string, from: number, to: number
): Promise<RowsOf[K][]> => {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const keys = await coldKeys(store, kind, symbol, interval, from, to)
  const parts = await Promise.all(keys.map(async (k) => {
    const span = objectSpan(kind, interval, k)
    // A query covering the whole object needs no row-group pruning.
    const window = span && span.from >= from && span.to <= to ? undefined : { from, to }
    return readWindow(store, kind, k, window)
  }))
  const out: RowsOf[K][] = []
  for (const rows of parts) for (const r of rows) {
    const t = time(r)
    if (t >= from && t < to && r.symbol === symbol && intervalOf(r) === interval) out.push(r)
  }
  return out
}

/**
 * The same rows as readCold, lazily and in time order: objects in key-span order, each read
 * row group by row group, one chunk per row group (small objects are fetched in one ranged
 * read, then decoded group by group). Rows at or before `after` (time, then natural key)
 * are skipped, and row groups wholly before it are not fetched. A consumer that stops
 * early leaves the remaining objects and row groups unread.
 */
export async function* coldChunks<K extends StorageKind>(
  store: ObjectStore, kind: K, symbol: string, interval: string, from: number, to: number,
  after?: { time: number; key: string }
): AsyncGenerator<RowsOf[K][]> {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const keyOf = naturalKey[kind] as (r: RowsOf[K]) => string
  const start = after ? Math.max(from, after.time) : from
  if (!(to > start)) return
  const spans = (await coldKeys(store, kind, symbol, interval, start, to))
    .map((k) => ({ k, span: objectSpan(kind, interval, k) }))
    .sort((a, b) => (a.span?.from ?? 0) - (b.span?.from ?? 0))
  const past = (r: RowsOf[K]) => {
    if (!after) return true
    const t = time(r)
    return t > after.time || (t === after.time && keyOf(r) > after.key)
  }
  for (const { k, span } of spans) {
    const whole = span !== undefined && span.from >= start && span.to <= to
    const window = whole ? undefined : { from: start, to }
    const size = await store.size(k)
    if (size === undefined) continue
    let file: AsyncBuffer | undefined = size <= WHOLE_OBJECT_BYTES ? undefined : await objectAsyncBuffer(store, k)
    if (file === undefined) {
      const bytes = await store.get(k, { start: 0, end: size })
      if (!bytes) continue
      file = bufferOf(bytes)
    }
    for await (const rows of decodeParquetGroups(kind, file, window)) {
      const out: RowsOf[K][] = []
      for (const r of rows) {
        const t = time(r)
        if (t >= start && t < to && r.symbol === symbol && intervalOf(r) === interval && past(r)) out.push(r)
      }
      if (out.length > 0) yield out
    }
  }
}
