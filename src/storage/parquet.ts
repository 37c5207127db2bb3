/**
 * The Parquet form of each storage kind: column schema, encoding rows into one whole
 * Parquet file (hyparquet-writer) and decoding them back (hyparquet), optionally only the
 * row groups whose time range overlaps a query, read through explicit byte ranges.
 * The schema is the public cold contract documented in docs/storage.md: change it only
 * together with that page.
 * Does not know where objects live (object-store.ts) nor how they are named (layout.ts).
 */
import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData } from "hyparquet"
import { parquetWriteBuffer, type ColumnSource, type SchemaElement } from "hyparquet-writer"
import type { Bar, CorporateAction, NewsItem, RowsOf, SentimentPoint, StorageKind } from "../domain/rows.ts"
import { naturalKey, rowTime } from "../domain/rows.ts"

type Kind = "STRING" | "DOUBLE" | "INT64" | "TIMESTAMP"
interface Column<R> { readonly name: string; readonly type: Kind; readonly get: (r: R) => string | number }

const string = <R>(name: string, get: (r: R) => string): Column<R> => ({ name, type: "STRING", get })
const double = <R>(name: string, get: (r: R) => number): Column<R> => ({ name, type: "DOUBLE", get })
const int64 = <R>(name: string, get: (r: R) => number): Column<R> => ({ name, type: "INT64", get })
const timestamp = <R>(name: string, get: (r: R) => number): Column<R> => ({ name, type: "TIMESTAMP", get })

/** Columns in file order; the time column of each kind is the one row groups are pruned on. */
export const PARQUET_COLUMNS: { readonly [K in StorageKind]: readonly Column<RowsOf[K]>[] } = {
  bars: [
    string<Bar>("symbol", (r) => r.symbol), string<Bar>("interval", (r) => r.interval),
    timestamp<Bar>("ts", (r) => r.ts),
    double<Bar>("open", (r) => r.open), double<Bar>("high", (r) => r.high), double<Bar>("low", (r) => r.low),
    double<Bar>("close", (r) => r.close), double<Bar>("volume", (r) => r.volume), double<Bar>("vwap", (r) => r.vwap),
    int64<Bar>("trades", (r) => r.trades)
  ],
  news: [
    string<NewsItem>("symbol", (r) => r.symbol), string<NewsItem>("id", (r) => r.id),
    timestamp<NewsItem>("published_at", (r) => r.published_at),
    string<NewsItem>("title", (r) => r.title), string<NewsItem>("publisher", (r) => r.publisher),
    string<NewsItem>("url", (r) => r.url)
  ],
  corporate_actions: [
    string<CorporateAction>("symbol", (r) => r.symbol), string<CorporateAction>("kind", (r) => r.kind),
    timestamp<CorporateAction>("ex_date", (r) => r.ex_date), double<CorporateAction>("value", (r) => r.value)
  ],
  social_sentiment: [
    string<SentimentPoint>("symbol", (r) => r.symbol), string<SentimentPoint>("source", (r) => r.source),
    timestamp<SentimentPoint>("ts", (r) => r.ts), double<SentimentPoint>("score", (r) => r.score),
    int64<SentimentPoint>("mentions", (r) => r.mentions)
  ]
}

/** The column each kind's rows are ordered and pruned by (rowTime's column). */
export const TIME_COLUMN: { readonly [K in StorageKind]: string } = {
  bars: "ts", news: "published_at", corporate_actions: "ex_date", social_sentiment: "ts"
}

const schemaElement = (c: Column<never>): SchemaElement => {
  switch (c.type) {
    case "STRING": return { name: c.name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" }
    case "DOUBLE": return { name: c.name, type: "DOUBLE", repetition_type: "REQUIRED" }
    case "INT64": return { name: c.name, type: "INT64", repetition_type: "REQUIRED" }
    // UTC-adjusted, so DuckDB and pyarrow read it as timestamptz / timestamp[ms, tz=UTC].
    case "TIMESTAMP": return {
      name: c.name, type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type: "REQUIRED",
      logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" }
    }
  }
}

/** Rows per row group: small enough that a narrow query skips most of a year of 1-minute bars. */
const ROW_GROUP_ROWS = 10_000

/** Encode rows (any order) as one Parquet file, sorted by time then natural key. */
export const encodeParquet = <K extends StorageKind>(kind: K, rows: readonly RowsOf[K][]): Uint8Array => {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  // Time, then natural key: the order the read path merges in.
  const sorted = [...rows].sort((a, b) => time(a) - time(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  const columns = PARQUET_COLUMNS[kind] as readonly Column<RowsOf[K]>[]
  const columnData: ColumnSource[] = columns.map((c) => {
    const n = sorted.length
    if (c.type === "STRING") return { name: c.name, data: sorted.map((r) => c.get(r) as string) }
    if (c.type === "DOUBLE") {
      const data = new Float64Array(n)
      for (let i = 0; i < n; i++) data[i] = c.get(sorted[i] as RowsOf[K]) as number
      return { name: c.name, data }
    }
    const data = new BigInt64Array(n)
    for (let i = 0; i < n; i++) data[i] = BigInt(c.get(sorted[i] as RowsOf[K]) as number)
    return { name: c.name, data }
  })
  const schema: SchemaElement[] = [{ name: "root", num_children: columns.length }, ...columns.map((c) => schemaElement(c as Column<never>))]
  return new Uint8Array(parquetWriteBuffer({
    columnData, schema, rowGroupSize: ROW_GROUP_ROWS,
    kvMetadata: [{ key: "strata.kind", value: kind }], createdBy: "strata"
  }))
}

export const bufferOf = (bytes: Uint8Array): AsyncBuffer => ({
  byteLength: bytes.byteLength,
  slice: (start, end) => bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + (end ?? bytes.byteLength)) as ArrayBuffer
})

const PARSERS = { timestampFromMilliseconds: (ms: bigint) => Number(ms) }

/**
 * Rows [start, end) of a file, built straight from its decoded columns: each row gets the
 * kind's columns (in schema order, INT64 as numbers) and nothing else. hyparquet's own row
 * objects would be built and then copied again; building ours column by column costs
 * about half the CPU of that for a small object, where decoding is most of a read.
 */
const readRows = async <K extends StorageKind>(
  kind: K, file: AsyncBuffer, metadata: FileMetaData, start: number, end: number
): Promise<RowsOf[K][]> => {
  const chunks = new Map<string, { rowStart: number; values: ArrayLike<unknown> }[]>()
  await parquetRead({
    file, metadata, rowStart: start, rowEnd: end, parsers: PARSERS,
    onChunk: ({ columnName, columnData, rowStart }) => {
      const list = chunks.get(columnName)
      const chunk = { rowStart, values: columnData as ArrayLike<unknown> }
      if (list) list.push(chunk)
      else chunks.set(columnName, [chunk])
    }
  })
  const n = end - start
  const rows: Record<string, unknown>[] = new Array(n)
  for (let i = 0; i < n; i++) rows[i] = {}
  for (const { name } of PARQUET_COLUMNS[kind]) {
    // A column the file lacks reads as undefined, as a missing field of a row would.
    if (!chunks.has(name)) for (const r of rows) r[name] = undefined
    for (const { rowStart, values } of chunks.get(name) ?? []) {
      // A chunk may reach outside the asked range (a whole page or row group).
      const from = Math.max(0, start - rowStart)
      const to = Math.min(values.length, end - rowStart)
      for (let j = from; j < to; j++) {
        const row = rows[rowStart + j - start] as Record<string, unknown>
        const v = values[j]
        row[name] = typeof v === "bigint" ? Number(v) : v
      }
    }
  }
  return rows as unknown as RowsOf[K][]
}

/**
 * Row ranges whose time statistics may hold rows in [from, to): one per row group, or,
 * with `merge`, adjacent row groups as one range (fewer reads when everything is wanted).
 */
const overlappingRowRanges = (meta: FileMetaData, column: string, from: number, to: number, merge: boolean): { start: number; end: number }[] => {
  const ranges: { start: number; end: number }[] = []
  let start = 0
  for (const rg of meta.row_groups) {
    const n = Number(rg.num_rows)
    const stats = rg.columns.find((c) => c.meta_data?.path_in_schema.join(".") === column)?.meta_data?.statistics
    const lo = stats?.min_value ?? stats?.min
    const hi = stats?.max_value ?? stats?.max
    const asMs = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : undefined)
    const l = asMs(lo)
    const h = asMs(hi)
    const overlaps = l === undefined || h === undefined || (h >= from && l < to)
    if (overlaps && n > 0) {
      const last = ranges[ranges.length - 1]
      if (merge && last && last.end === start) last.end = start + n
      else ranges.push({ start, end: start + n })
    }
    start += n
  }
  return ranges
}

/**
 * The rows of a Parquet file, one row group at a time, in file order (time order for our
 * objects). With `window`, only row groups whose time statistics overlap [from, to) are
 * fetched (the caller still filters rows exactly). A consumer that stops early leaves the
 * remaining row groups unread.
 */
export async function* decodeParquetGroups<K extends StorageKind>(
  kind: K, file: AsyncBuffer, window?: { from: number; to: number }, merge = false
): AsyncGenerator<RowsOf[K][]> {
  const metadata = await parquetMetadataAsync(file)
  const ranges = window
    ? overlappingRowRanges(metadata, TIME_COLUMN[kind], window.from, window.to, merge)
    : overlappingRowRanges(metadata, TIME_COLUMN[kind], -Infinity, Infinity, merge)
  for (const r of ranges) yield await readRows(kind, file, metadata, r.start, r.end)
}

/**
 * Decode the rows of a Parquet file. With `window`, only row groups whose time statistics
 * overlap [from, to) are fetched (the caller still filters rows exactly).
 */
export const decodeParquet = async <K extends StorageKind>(
  kind: K, file: AsyncBuffer, window?: { from: number; to: number }
): Promise<RowsOf[K][]> => {
  const out: RowsOf[K][] = []
  for await (const rows of decodeParquetGroups(kind, file, window, true)) for (const r of rows) out.push(r)
  return out
}

/** Row count from the footer alone (tiering's read-back check reads the whole file anyway). */
export const parquetRowCount = async (file: AsyncBuffer): Promise<number> => Number((await parquetMetadataAsync(file)).num_rows)
