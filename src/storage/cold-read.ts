/**
 * Reading the cold tier: the rows of one series with time in [from, to), in time order.
 * Which objects to open comes from the manifest (one indexed query, no listing), with each
 * object's size, so no HEAD either. Objects whose time ranges overlap (parts of a period
 * not yet compacted) are read together and merged by natural key; an object alone is read
 * row group by row group. An object up to 4 MiB is fetched in one ranged read, a larger one
 * footer first and then only the row groups whose time statistics overlap the query. A
 * reader that wants the whole range (`readAhead`) has the next small object fetched while
 * the one before it is decoded; a paged reader does not, so it opens no object it stops
 * short of.
 * An object removed by compaction between the manifest query and the read (it "vanished")
 * makes the read ask the manifest again and go on after the last row it handed out.
 * Given a bare ObjectStore instead of a Lake (tools, older callers), objects are found by
 * listing the series folder, as the store alone cannot say which objects are visible; rows
 * are still de-duplicated by natural key.
 * Does not write, lock or consult coverage.
 */
import type { AsyncBuffer } from "hyparquet"
import type { RowsOf, StorageKind } from "../domain/rows.ts"
import { naturalKey, rowTime } from "../domain/rows.ts"
import type { Lake } from "./cold-commit.ts"
import { keySpan, seriesPrefix } from "./layout.ts"
import { objectsOverlapping } from "./manifest.ts"
import type { ObjectStore } from "./object-store.ts"
import { bufferOf, decodeParquet, decodeParquetGroups } from "./parquet.ts"

/** An object to read: its key, the time range it may hold (inclusive) and its size when known. */
export interface ObjectRef { readonly key: string; readonly minMs: number; readonly maxMs: number; readonly bytes?: number }

/** A Lake, or a bare store read by listing. */
export type ColdSource = Lake | ObjectStore

export const isLake = (s: ColdSource): s is Lake => "sql" in s && "store" in s
const storeOf = (s: ColdSource): ObjectStore => (isLake(s) ? s.store : s)

export class ObjectVanished extends Error {
  constructor(readonly key: string) { super(`object ${key} vanished while being read`) }
}

/** The objects of a series that may hold rows in [from, to), in order of their first row. */
export const coldObjects = async (
  source: ColdSource, kind: StorageKind, symbol: string, interval: string, from: number, to: number
): Promise<ObjectRef[]> => {
  if (isLake(source)) return objectsOverlapping(source.sql, source.store.location, { kind, symbol, interval }, from, to)
  const out: ObjectRef[] = []
  for (const key of await source.list(seriesPrefix(kind, symbol, interval))) {
    const span = keySpan(kind, interval, key)
    if (span && span.to > from && span.from < to) out.push({ key, minMs: span.from, maxMs: span.to - 1 })
  }
  return out.sort((a, b) => a.minMs - b.minMs || (a.key < b.key ? -1 : 1))
}

/** Keys of one series' objects overlapping [from, to). */
export const coldKeys = async (
  source: ColdSource, kind: StorageKind, symbol: string, interval: string, from: number, to: number
): Promise<string[]> => (await coldObjects(source, kind, symbol, interval, from, to)).map((o) => o.key)

// Objects up to this size are fetched in one ranged read: fewer round trips than reading
// footer and row groups apart.
const WHOLE_OBJECT_BYTES = 4 * 1024 * 1024

/** A reader's view of one object: whole when small, else ranged reads per slice. */
const openObject = async (store: ObjectStore, ref: ObjectRef): Promise<AsyncBuffer> => {
  const size = ref.bytes ?? (await store.size(ref.key))
  if (size === undefined) throw new ObjectVanished(ref.key)
  if (size <= WHOLE_OBJECT_BYTES) {
    const bytes = await store.get(ref.key, { start: 0, end: size })
    if (!bytes) throw new ObjectVanished(ref.key)
    return bufferOf(bytes)
  }
  return {
    byteLength: size,
    slice: async (start: number, end?: number): Promise<ArrayBuffer> => {
      const bytes = await store.get(ref.key, { start, end: end ?? size })
      if (!bytes) throw new ObjectVanished(ref.key)
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    }
  }
}

/** Every row of one object, decoded (only the row groups overlapping `window`, when given). */
export const readObjectRows = async <K extends StorageKind>(
  store: ObjectStore, kind: K, ref: ObjectRef, window?: { from: number; to: number }
): Promise<RowsOf[K][]> => decodeParquet(kind, await openObject(store, ref), window)

/** Every row of one object by key, undefined when the object does not exist. */
export const readObject = async <K extends StorageKind>(
  store: ObjectStore, kind: K, key: string, window?: { from: number; to: number }
): Promise<RowsOf[K][] | undefined> => {
  try {
    return await readObjectRows(store, kind, { key, minMs: -Infinity, maxMs: Infinity }, window)
  } catch (e) {
    if (e instanceof ObjectVanished) return undefined
    throw e
  }
}

/** Refs grouped into runs whose time ranges overlap: one run is read and merged together. */
const overlappingRuns = (refs: readonly ObjectRef[]): ObjectRef[][] => {
  const runs: ObjectRef[][] = []
  let end = -Infinity
  for (const r of refs) {
    const last = runs[runs.length - 1]
    if (last && r.minMs <= end) last.push(r)
    else runs.push([r])
    end = Math.max(end, r.maxMs)
  }
  return runs
}

/**
 * A fetch started ahead of its use, its failure held until then: thrown where the object is
 * read, as a fetch started there would; dropped with the rest when the reader stops first.
 */
type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown }
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))
const unsettle = <T>(s: Settled<T>): T => {
  if (s.ok) return s.value
  throw s.error
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const intervalOf = (row: object): string => ("interval" in row ? String(row.interval) : "")

/** One pass over the objects the source names now; throws ObjectVanished when one is gone. */
async function* chunksOnce<K extends StorageKind>(
  source: ColdSource, kind: K, symbol: string, interval: string, from: number, to: number,
  after: { time: number; key: string } | undefined, readAhead: boolean
): AsyncGenerator<RowsOf[K][]> {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const keyOf = naturalKey[kind] as (r: RowsOf[K]) => string
  const store = storeOf(source)
  const keep = (r: RowsOf[K]) => {
    const t = time(r)
    if (!(t >= from && t < to) || r.symbol !== symbol || intervalOf(r) !== interval) return false
    return !after || t > after.time || (t === after.time && keyOf(r) > after.key)
  }
  const runs = overlappingRuns(await coldObjects(source, kind, symbol, interval, from, to))
  const whole = (r: ObjectRef) => r.minMs >= from && r.maxMs < to
  // With readAhead, the next object, when alone in its run and small, is fetched while this one is decoded.
  let ahead: { readonly ref: ObjectRef; readonly file: Promise<Settled<AsyncBuffer>> } | undefined
  for (const [i, run] of runs.entries()) {
    if (run.length === 1) {
      const ref = run[0] as ObjectRef
      const file = ahead?.ref === ref ? unsettle(await ahead.file) : await openObject(store, ref)
      const next = runs[i + 1]
      ahead = readAhead && next?.length === 1 && (next[0]?.bytes ?? Infinity) <= WHOLE_OBJECT_BYTES
        ? { ref: next[0] as ObjectRef, file: settle(openObject(store, next[0] as ObjectRef)) }
        : undefined
      // A small object is already in memory: decode its overlapping row groups in one call.
      const small = file.byteLength <= WHOLE_OBJECT_BYTES
      for await (const rows of decodeParquetGroups(kind, file, whole(ref) ? undefined : { from, to }, small)) {
        const out = rows.filter(keep)
        if (out.length > 0) yield out
      }
      continue
    }
    // Parts of one period: merged by key (the first written wins), then sorted.
    const byKey = new Map<string, RowsOf[K]>()
    for (const ref of run) {
      for (const r of await readObjectRows(store, kind, ref, whole(ref) ? undefined : { from, to })) {
        if (keep(r) && !byKey.has(keyOf(r))) byKey.set(keyOf(r), r)
      }
    }
    const out = [...byKey.values()].sort((a, b) => time(a) - time(b) || compare(keyOf(a), keyOf(b)))
    if (out.length > 0) yield out
  }
}

/**
 * Rows of one series with time in [from, to) held cold, lazily and in time order, one chunk
 * per row group (or per run of overlapping parts). Rows at or before `after` (time, then
 * natural key) are skipped. A consumer that stops early leaves the rest unread, unless it
 * asked to `readAhead` (it means to read the whole range): then one more object may be fetched.
 */
export async function* coldChunks<K extends StorageKind>(
  source: ColdSource, kind: K, symbol: string, interval: string, from: number, to: number,
  after?: { time: number; key: string }, readAhead = false
): AsyncGenerator<RowsOf[K][]> {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const keyOf = naturalKey[kind] as (r: RowsOf[K]) => string
  let cursor = after
  const start = () => (cursor ? Math.max(from, cursor.time) : from)
  // A vanished object means a compaction replaced it: ask again, from just past the last row.
  for (let attempt = 0; ; attempt++) {
    if (!(to > start())) return
    try {
      for await (const rows of chunksOnce(source, kind, symbol, interval, start(), to, cursor, readAhead)) {
        const last = rows[rows.length - 1] as RowsOf[K]
        cursor = { time: time(last), key: keyOf(last) }
        yield rows
      }
      return
    } catch (e) {
      if (!(e instanceof ObjectVanished) || attempt >= 5) throw e
    }
  }
}

/** Rows of one series with time in [from, to) held cold, in time order. */
export const readCold = async <K extends StorageKind>(
  source: ColdSource, kind: K, symbol: string, interval: string, from: number, to: number
): Promise<RowsOf[K][]> => {
  const out: RowsOf[K][] = []
  for await (const rows of coldChunks(source, kind, symbol, interval, from, to, undefined, true)) for (const r of rows) out.push(r)
  return out
}
