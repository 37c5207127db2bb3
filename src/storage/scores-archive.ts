/**
 * The scanner archive in the lake: scores entries as Parquet parts, one folder per UTC hour
 * of the entry ID's time, `scores/YYYY/MM/DD/HH/<first entry ID>.e<epoch>.parquet` for the
 * ingress stream and `scores/direct/<P>/YYYY/MM/DD/HH/<first entry ID>.e<epoch>.parquet` for
 * partition P's direct stream (a partitioned install). One tree per stream: the two streams'
 * IDs are independent (the same ID may be in both), so each tree is ordered and deduplicated
 * by ID on its own, its parts' names never collide with another's, and its writer (the
 * stream's lease holder) lists and deletes leftovers in its own folders only. A reader of
 * one hour of ingress lists `scores/YYYY/...`, never the direct trees.
 *
 * Why parts rather than one `HH.parquet` rewritten whole: at a few thousand events a second
 * an hour holds millions of rows, and rewriting it on every archive pass costs O(n²); a part
 * is written once, by one pass, and never changed. Its name is the first entry ID it holds
 * plus the lease epoch of its writer, so a pass retried after a crash writes the same first
 * ID under a new epoch (never half-replacing an object a slow former owner may still be
 * uploading) and then deletes the leftover. Parts whose first ID is at or below the mark are
 * disjoint; readers still keep one row per entry ID (IDs only grow), so even a late upload
 * of a fenced former owner cannot duplicate a row for them.
 *
 * Columns (the public contract, see docs/storage.md): `id`, `id_time` (the ID's ms),
 * `event_time` (decoded, null when it does not decode), `symbol` (normalised, else as sent,
 * null when absent), `fields` (JSON: the flat name/value list exactly as sent, in order,
 * duplicates included — the recording format's own shape, and DuckDB's json functions read
 * it), `dead`, `dead_reason`, `dead_id` (the dead letter's entry ID), `stream` (the Redis
 * stream the entry was read from; null in parts written before the column existed, which
 * are all ingress parts). A row's key is (`stream`, `id`).
 * Does not read Redis or know the mark: the archiver (src/engine/archiver.ts) decides what
 * goes into a part and when it counts as archived.
 */
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer } from "hyparquet"
import { ByteWriter, parquetWrite, type SchemaElement } from "hyparquet-writer"
import { compareEntryIds, entryIdMs } from "../domain/time.ts"
import { objectAsyncBuffer, type ObjectStore } from "./object-store.ts"

export interface ArchivedScore {
  readonly id: string
  /** The entry ID's milliseconds (the part's hour comes from it). */
  readonly idTime: number
  readonly eventTime: number | null
  readonly symbol: string | null
  /** The flat field/value list exactly as the stream held it. */
  readonly fields: readonly string[]
  readonly dead: boolean
  readonly deadReason: string | null
  readonly deadId: string | null
  /** The stream the entry was read from (absent in parts written before the column). */
  readonly stream?: string
}

export const ARCHIVE_ROOT = "scores/"

/**
 * The tree of one archived stream: the ingress stream's (`partition` undefined), or
 * partition `partition`'s direct stream's, beside it under `scores/direct/`.
 */
export const archiveRoot = (partition?: number): string => {
  if (partition === undefined) return ARCHIVE_ROOT
  if (!Number.isSafeInteger(partition) || partition < 0) throw new Error(`archive tree of partition ${partition}: expected a partition number`)
  return `${ARCHIVE_ROOT}direct/${partition}/`
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

/** The hour folder of an entry time: `scores/YYYY/MM/DD/HH/` (or under partition P's direct tree). */
export const hourFolder = (ms: number, partition?: number): string => {
  const d = new Date(ms)
  return `${archiveRoot(partition)}${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/`
}

export const partKey = (firstId: string, epoch: string, partition?: number): string =>
  `${hourFolder(entryIdMs(firstId), partition)}${firstId}.e${epoch}.parquet`

const PART = /^scores\/(?:direct\/(0|[1-9]\d{0,8})\/)?\d{4}\/\d{2}\/\d{2}\/\d{2}\/(\d{1,20}-\d{1,20})\.e(\d{1,20})\.parquet$/

export interface PartName {
  readonly key: string
  readonly firstId: string
  readonly epoch: string
  /** The partition whose direct stream the part holds; absent for an ingress part. */
  readonly partition?: number
}

export const parsePartKey = (key: string): PartName | undefined => {
  const m = PART.exec(key)
  if (!m) return undefined
  const part = { key, firstId: m[2] as string, epoch: m[3] as string }
  return m[1] === undefined ? part : { ...part, partition: Number(m[1]) }
}

/** Parts in read order: first ID, then epoch (numerically). */
export const sortParts = (parts: readonly PartName[]): PartName[] =>
  [...parts].sort((a, b) => compareEntryIds(a.firstId, b.firstId) || (BigInt(a.epoch) < BigInt(b.epoch) ? -1 : BigInt(a.epoch) > BigInt(b.epoch) ? 1 : 0))

// ------------------------------------------------------------------ encoding

// Small row groups: the encoder yields between them, and a reader of one hour skips by id_time.
const ROW_GROUP_ROWS = 5_000
const str = (name: string, optional = false): SchemaElement =>
  ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: optional ? "OPTIONAL" : "REQUIRED" })
const ts = (name: string, optional = false): SchemaElement => ({
  name, type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type: optional ? "OPTIONAL" : "REQUIRED",
  logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" }
})
const SCHEMA: SchemaElement[] = [
  { name: "root", num_children: 9 },
  str("id"), ts("id_time"), ts("event_time", true), str("symbol", true),
  { name: "fields", type: "BYTE_ARRAY", converted_type: "JSON", repetition_type: "REQUIRED" },
  { name: "dead", type: "BOOLEAN", repetition_type: "REQUIRED" },
  str("dead_reason", true), str("dead_id", true), str("stream", true)
]

/**
 * One part's bytes: rows in entry-ID order (the caller passes them so). Encoding is CPU
 * work; the engine does it on its archive thread, off its event loop. It still yields
 * between row groups (the writer's `flush`), so that whichever loop runs it (the archive
 * thread's, or `strata archive`'s, which also renews the lease) is never held up for the
 * whole file of a 100,000-row chunk.
 */
export const encodeArchivePart = async (rows: readonly ArchivedScore[]): Promise<Uint8Array> => {
  const idTime = new BigInt64Array(rows.length)
  rows.forEach((r, i) => { idTime[i] = BigInt(r.idTime) })
  const writer = Object.assign(new ByteWriter(), { flush: () => new Promise<void>((resolve) => setImmediate(resolve)) })
  await parquetWrite({
    writer,
    schema: SCHEMA,
    columnData: [
      { name: "id", data: rows.map((r) => r.id) },
      { name: "id_time", data: idTime },
      { name: "event_time", data: rows.map((r) => (r.eventTime === null ? null : BigInt(r.eventTime))) },
      // Statistics cost time on every value; they are kept only where a reader prunes by
      // them: the ID and the two times (a row group's range), and `dead` (a group without
      // dead rows). A row group's symbols, reasons and dead-letter IDs span any range, its
      // stream is the part's one stream, and a JSON list's bounds prune nothing.
      { name: "symbol", data: rows.map((r) => r.symbol), statistics: false },
      // The writer serialises JSON columns itself: pass the lists, not their text.
      { name: "fields", data: rows.map((r) => r.fields), statistics: false },
      { name: "dead", data: rows.map((r) => r.dead) },
      { name: "dead_reason", data: rows.map((r) => r.deadReason), statistics: false },
      { name: "dead_id", data: rows.map((r) => r.deadId), statistics: false },
      { name: "stream", data: rows.map((r) => r.stream ?? null), statistics: false }
    ],
    rowGroupSize: ROW_GROUP_ROWS,
    kvMetadata: [
      { key: "strata.kind", value: "scores" },
      { key: "strata.first_id", value: rows[0]?.id ?? "" },
      { key: "strata.last_id", value: rows.at(-1)?.id ?? "" }
    ],
    createdBy: "strata"
  })
  return new Uint8Array(writer.getBuffer())
}

const PARSERS = { timestampFromMilliseconds: (ms: bigint) => Number(ms) }
const num = (v: unknown): number | null => (v === null || v === undefined ? null : typeof v === "bigint" ? Number(v) : v instanceof Date ? v.getTime() : Number(v))
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

const toRow = (o: Record<string, unknown>): ArchivedScore => {
  const f = o["fields"]
  const fields = (typeof f === "string" ? JSON.parse(f) : f) as string[]
  const stream = text(o["stream"])
  return {
    id: String(o["id"]), idTime: num(o["id_time"]) ?? 0, eventTime: num(o["event_time"]), symbol: text(o["symbol"]),
    fields, dead: o["dead"] === true, deadReason: text(o["dead_reason"]), deadId: text(o["dead_id"]),
    ...(stream === null ? {} : { stream })
  }
}

/** The rows of one part, a row group at a time. */
export async function* decodeArchivePart(file: AsyncBuffer): AsyncGenerator<ArchivedScore[]> {
  const metadata = await parquetMetadataAsync(file)
  let start = 0
  for (const rg of metadata.row_groups) {
    const end = start + Number(rg.num_rows)
    const objects = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, parsers: PARSERS })
    yield objects.map((o) => toRow(o as Record<string, unknown>))
    start = end
  }
}

/** The entry IDs a stored part holds, in order: the archiver's read-back check. */
export const partIds = async (store: ObjectStore, key: string): Promise<string[] | undefined> => {
  const file = await objectAsyncBuffer(store, key)
  if (!file) return undefined
  const metadata = await parquetMetadataAsync(file)
  const rows = await parquetReadObjects({ file, metadata, columns: ["id"] })
  return rows.map((r) => String((r as Record<string, unknown>)["id"]))
}

/** How many rows a stored part holds, from its footer alone (no column is read). */
export const partRowCount = async (store: ObjectStore, key: string): Promise<number | undefined> => {
  const file = await objectAsyncBuffer(store, key)
  if (!file) return undefined
  return Number((await parquetMetadataAsync(file)).num_rows)
}

// ------------------------------------------------------------------ reading a range

const DAY_MS = 86_400_000

/**
 * The parts of one stream's tree (`partition` undefined: the ingress stream's) that may hold
 * entries with ID time in [fromMs, toMs], in read order.
 */
export const partsBetween = async (store: ObjectStore, fromMs: number | undefined, toMs: number, partition?: number): Promise<PartName[]> => {
  const keys: string[] = []
  if (fromMs === undefined || toMs - fromMs > 400 * DAY_MS) {
    keys.push(...await store.list(archiveRoot(partition)))
  } else {
    // One listing per UTC day: a day's range never lists the whole archive.
    for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day <= toMs; day += DAY_MS) keys.push(...await store.list(hourFolder(day, partition).slice(0, -3)))
  }
  const fromHour = fromMs === undefined ? -Infinity : Math.floor(fromMs / 3_600_000)
  const toHour = Math.floor(toMs / 3_600_000)
  const parts = keys.map(parsePartKey).filter((p): p is PartName => {
    // The ingress tree's listing holds the direct trees too: each reads its own.
    if (!p || p.partition !== partition) return false
    const hour = Math.floor(entryIdMs(p.firstId) / 3_600_000)
    return hour >= fromHour && hour <= toHour
  })
  return sortParts(parts)
}

/**
 * Archived rows of one stream's tree (`partition` undefined: the ingress stream's) with
 * `after` < id ≤ `upTo` (IDs; `after` undefined: from the start), in ID order, one row per
 * entry ID. `upTo` is normally the stream's mark: parts past it are not verified.
 */
export async function* archivedBetween(store: ObjectStore, after: string | undefined, upTo: string, partition?: number): AsyncGenerator<ArchivedScore> {
  const parts = await partsBetween(store, after === undefined ? undefined : entryIdMs(after), entryIdMs(upTo), partition)
  let last = after
  for (const part of parts) {
    if (compareEntryIds(part.firstId, upTo) > 0) break
    const file = await objectAsyncBuffer(store, part.key)
    // Deleted between the listing and now: a retried pass replaced it with a newer part.
    if (!file) continue
    for await (const rows of decodeArchivePart(file)) {
      for (const row of rows) {
        if (last !== undefined && compareEntryIds(row.id, last) <= 0) continue
        if (compareEntryIds(row.id, upTo) > 0) return
        last = row.id
        yield row
      }
    }
  }
}
