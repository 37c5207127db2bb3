/**
 * The read path over both tiers: one answer for a series and a time range, from the hot
 * tables and the cold objects together, de-duplicated by natural key (a row may sit in
 * both tiers for a moment while tiering moves it) and ordered by time, then key.
 * `seriesChunks` reads lazily: keyset pages of the hot table and the cold objects row
 * group by row group, merged as they come, so a reader that stops after N rows (a page
 * of the HTTP API) has read about N rows, not the whole range, and memory stays bounded
 * by the chunk size. Cold reads open only the objects whose key span overlaps the query,
 * and inside them only the row groups whose time statistics overlap it, each through
 * explicit byte ranges. `readSeries`, which wants the whole range, has the next small
 * cold object fetched while the one before it is decoded.
 * Which cold objects exist comes from the manifest (cold-read.ts): a read never lists the store.
 * Does not cache, and does not consult coverage: it answers with what is stored.
 */
import type { Bar, CorporateAction, NewsItem, RowsOf, SentimentPoint, StorageKind } from "../domain/rows.ts"
import { naturalKey, rowTime } from "../domain/rows.ts"
import { coldChunks } from "./cold-store.ts"
import { hotChunks } from "./hot-store.ts"
import type { StorageDeps } from "./write-router.ts"

/** Rows each tier has handed to the merge so far (how much a read really read). */
export interface ReadStats { hotRows: number; coldRows: number }

export interface ChunkOptions<K extends StorageKind> {
  /** Start after this row's position (time, then natural key): the cursor of a paged read. */
  readonly after?: RowsOf[K] | undefined
  /** Rows per chunk, and per hot-table page. */
  readonly chunkRows?: number
  readonly stats?: ReadStats
  /**
   * The reader means to read the whole range: the next cold object is fetched while the one
   * before is decoded. Off for paged readers, which then open no object they stop short of.
   */
  readonly readAhead?: boolean
}

const DEFAULT_CHUNK_ROWS = 5_000

/** One tier's chunks, read one chunk ahead of the merge. */
class TierCursor<R> {
  private buf: readonly R[] = []
  private i = 0
  done = false
  constructor(private readonly source: AsyncGenerator<R[]>, private readonly counted: (n: number) => void) {}
  get head(): R | undefined { return this.buf[this.i] }
  get empty(): boolean { return this.i >= this.buf.length }
  /** No row left, none to come. */
  get spent(): boolean { return this.done && this.empty }
  next(): void { this.i++ }
  /** Up to `n` of the buffered rows at once (when the other tier is spent: nothing to merge). */
  take(n: number): readonly R[] {
    const out = this.buf.slice(this.i, this.i + n)
    this.i += out.length
    return out
  }
  async fill(): Promise<void> {
    while (this.empty && !this.done) {
      const r = await this.source.next()
      if (r.done) this.done = true
      else { this.buf = r.value; this.i = 0; this.counted(r.value.length) }
    }
  }
  async close(): Promise<void> { await this.source.return(undefined) }
}

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Rows of one series with time in [from, to) from both tiers, in order, in chunks of up to
 * `chunkRows`. Where both tiers hold a key, the hot row is kept.
 */
export async function* seriesChunks<K extends StorageKind>(
  deps: StorageDeps, kind: K, symbol: string, interval: string, from: number, to: number, options: ChunkOptions<K> = {}
): AsyncGenerator<RowsOf[K][]> {
  if (!(to > from)) return
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS
  const stats = options.stats ?? { hotRows: 0, coldRows: 0 }
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const after = options.after
  const hot = new TierCursor(hotChunks(deps.sql, kind, { symbol, interval }, from, to, chunkRows, after), (n) => { stats.hotRows += n })
  const cold = new TierCursor(
    coldChunks(deps, kind, symbol, interval, from, to, after ? { time: time(after), key: key(after) } : undefined, options.readAhead),
    (n) => { stats.coldRows += n })
  try {
    await Promise.all([hot.fill(), cold.fill()])
    let out: RowsOf[K][] = []
    for (;;) {
      // Awaited only when a buffer runs out: an await per row would cost more than the merge.
      if (hot.empty && !hot.done) await hot.fill()
      if (cold.empty && !cold.done) await cold.fill()
      if (hot.spent && cold.spent) break
      // One tier spent: the other's buffered rows go out as they are, a slice at a time.
      const rest = hot.spent ? cold : cold.spent ? hot : undefined
      if (rest) for (const r of rest.take(chunkRows - out.length)) out.push(r)
      else {
        const h = hot.head as RowsOf[K]
        const c = cold.head as RowsOf[K]
        const dt = time(h) - time(c)
        const order = dt !== 0 ? dt : compareKeys(key(h), key(c))
        if (order < 0) { out.push(h); hot.next() }
        else if (order > 0) { out.push(c); cold.next() }
        else { out.push(h); hot.next(); cold.next() }
      }
      if (out.length >= chunkRows) { yield out; out = [] }
    }
    if (out.length > 0) yield out
  } finally {
    await Promise.all([hot.close(), cold.close()])
  }
}

/** Rows of one series with time in [from, to), from both tiers, all at once. */
export const readSeries = async <K extends StorageKind>(
  deps: StorageDeps, kind: K, symbol: string, interval: string, from: number, to: number
): Promise<RowsOf[K][]> => {
  const out: RowsOf[K][] = []
  for await (const rows of seriesChunks(deps, kind, symbol, interval, from, to, { readAhead: true })) for (const r of rows) out.push(r)
  return out
}

export const bars = (deps: StorageDeps, symbol: string, interval: string, from: number, to: number): Promise<Bar[]> =>
  readSeries(deps, "bars", symbol, interval, from, to)

export const news = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<NewsItem[]> =>
  readSeries(deps, "news", symbol, "", from, to)

export const corporateActions = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<CorporateAction[]> =>
  readSeries(deps, "corporate_actions", symbol, "", from, to)

export const sentiment = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<SentimentPoint[]> =>
  readSeries(deps, "social_sentiment", symbol, "", from, to)
