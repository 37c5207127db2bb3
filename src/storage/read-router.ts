/**
 * The read path over both tiers: one answer for a series and a time range, from the hot
 * tables and the cold objects together, de-duplicated by natural key (a row may sit in
 * both tiers for a moment while tiering moves it) and ordered by time, then key.
 * Cold reads open only the objects whose key span overlaps the query, and inside them
 * only the row groups whose time statistics overlap it, each through explicit byte ranges.
 * Does not cache, and does not consult coverage: it answers with what is stored.
 */
import type { Bar, CorporateAction, NewsItem, RowsOf, SentimentPoint, StorageKind } from "../domain/rows.ts"
import { naturalKey, rowTime } from "../domain/rows.ts"
import { readCold } from "./cold-store.ts"
import { readHot } from "./hot-store.ts"
import type { StorageDeps } from "./write-router.ts"

/**
 * Merge rows of both tiers, each already ordered by time then natural key: one linear
 * pass, the hot row kept where both tiers hold the same key.
 */
export const mergeTiers = <K extends StorageKind>(kind: K, hot: readonly RowsOf[K][], cold: readonly RowsOf[K][]): RowsOf[K][] => {
  if (cold.length === 0) return [...hot]
  if (hot.length === 0) return [...cold]
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const out: RowsOf[K][] = []
  let i = 0
  let j = 0
  while (i < hot.length || j < cold.length) {
    const h = hot[i]
    const c = cold[j]
    if (h === undefined) { out.push(c as RowsOf[K]); j++; continue }
    if (c === undefined) { out.push(h); i++; continue }
    const dt = time(h) - time(c)
    const order = dt !== 0 ? dt : compareKeys(key(h), key(c))
    if (order < 0) { out.push(h); i++ }
    else if (order > 0) { out.push(c); j++ }
    else { out.push(h); i++; j++ }
  }
  return out
}

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Sort rows by time then natural key (cold rows come object by object). */
export const sortRows = <K extends StorageKind>(kind: K, rows: RowsOf[K][]): RowsOf[K][] => {
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  let sorted = true
  for (let i = 1; i < rows.length && sorted; i++) {
    const a = rows[i - 1] as RowsOf[K]
    const b = rows[i] as RowsOf[K]
    const dt = time(a) - time(b)
    sorted = dt < 0 || (dt === 0 && compareKeys(key(a), key(b)) < 0)
  }
  return sorted ? rows : rows.sort((a, b) => time(a) - time(b) || compareKeys(key(a), key(b)))
}

/** Rows of one series with time in [from, to), from both tiers. */
export const readSeries = async <K extends StorageKind>(
  deps: StorageDeps, kind: K, symbol: string, interval: string, from: number, to: number
): Promise<RowsOf[K][]> => {
  if (!(to > from)) return []
  const [hot, cold] = await Promise.all([
    readHot(deps.sql, kind, { symbol, interval }, from, to),
    readCold(deps.store, kind, symbol, interval, from, to)
  ])
  return mergeTiers(kind, sortRows(kind, hot), sortRows(kind, cold))
}

export const bars = (deps: StorageDeps, symbol: string, interval: string, from: number, to: number): Promise<Bar[]> =>
  readSeries(deps, "bars", symbol, interval, from, to)

export const news = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<NewsItem[]> =>
  readSeries(deps, "news", symbol, "", from, to)

export const corporateActions = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<CorporateAction[]> =>
  readSeries(deps, "corporate_actions", symbol, "", from, to)

export const sentiment = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<SentimentPoint[]> =>
  readSeries(deps, "social_sentiment", symbol, "", from, to)
