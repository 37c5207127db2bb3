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

/** Merge rows of both tiers: unique by natural key (hot first), ordered by time then key. */
export const mergeTiers = <K extends StorageKind>(kind: K, hot: readonly RowsOf[K][], cold: readonly RowsOf[K][]): RowsOf[K][] => {
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const byKey = new Map<string, RowsOf[K]>()
  for (const r of hot) byKey.set(key(r), r)
  for (const r of cold) if (!byKey.has(key(r))) byKey.set(key(r), r)
  return [...byKey.entries()]
    .sort(([ka, a], [kb, b]) => time(a) - time(b) || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([, r]) => r)
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
  return mergeTiers(kind, hot, cold)
}

export const bars = (deps: StorageDeps, symbol: string, interval: string, from: number, to: number): Promise<Bar[]> =>
  readSeries(deps, "bars", symbol, interval, from, to)

export const news = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<NewsItem[]> =>
  readSeries(deps, "news", symbol, "", from, to)

export const corporateActions = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<CorporateAction[]> =>
  readSeries(deps, "corporate_actions", symbol, "", from, to)

export const sentiment = (deps: StorageDeps, symbol: string, from: number, to: number): Promise<SentimentPoint[]> =>
  readSeries(deps, "social_sentiment", symbol, "", from, to)
