/**
 * Gaps: for each series of each symbol, the trading sessions inside its owed window
 * (owed.ts) that hold no bars, or fewer than the session should have, in either tier
 * (a session's rows may sit in both tiers for a moment while tiering moves them: the
 * fuller tier counts). Sessions the healing ledger records as confirmed by the provider
 * (empty, short) are left out; sessions healing gave up on are listed and marked.
 * Counting is in bulk (session-counts.ts): per interval and batch of symbols one hot
 * query, per series one cold read.
 * Does not fetch or heal: heal.ts does.
 */
import type { DataType, Interval, RetentionPolicy } from "../../config/schema.ts"
import type { Calendar } from "../domain/calendar.ts"
import type { Layer } from "../domain/layers.ts"
import type { Tier } from "../backfill/planner.ts"
import type { Sql } from "../services/postgres.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { ledgerKey, ledgerOf, RECORDED } from "./ledger.ts"
import { owedSessions, type OwedSeries } from "./owed.ts"
import { coldDayCounts, hotDayCounts, type CountStats } from "./session-counts.ts"

export interface SessionGap {
  readonly symbol: string
  readonly layer: Layer
  readonly interval: Interval
  readonly dataTypes: readonly DataType[]
  /** The session's date (exchange local), and its 00:00 UTC. */
  readonly session: string
  readonly day: number
  /** The tier the session is owed in. */
  readonly tier: Tier
  /** Rows the session should hold; rows held in each tier. */
  readonly expected: number
  readonly hot: number
  readonly cold: number
  /** Set when healing fetched it `heal.max_attempts` times without success and left it. */
  readonly exhausted: boolean
  /** The window's hot boundary (where a refetch routes the session's rows). */
  readonly hotFrom: number
}

export interface GapsReport {
  readonly now: number
  readonly calendar: string
  readonly symbols: number
  readonly series: number
  /** Sessions judged (owed and closed by `now`). */
  readonly sessions: number
  /** Sessions short of rows but recorded as confirmed by the provider (not listed). */
  readonly recorded: number
  readonly gaps: readonly SessionGap[]
  readonly stats: CountStats
}

export interface GapsDeps {
  readonly sql: Sql
  readonly store: ObjectStore
}

export interface GapsQuery {
  readonly policy: RetentionPolicy
  readonly calendar: Calendar
  readonly now: number
  /** Symbols and their current layers. */
  readonly layers: ReadonlyMap<string, Layer>
  readonly dataTypes: readonly DataType[]
  /** Cold reads in flight at once. */
  readonly concurrency?: number
}

/** Run `fn` over `items`, at most `n` at a time. */
const eachLimited = async <T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> => {
  let next = 0
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, lane))
}

export const findGaps = async (deps: GapsDeps, q: GapsQuery): Promise<GapsReport> => {
  const stats: CountStats = { sqlQueries: 0, coldSeries: 0 }
  const byLayer = new Map<Layer, string[]>()
  for (const [symbol, layer] of q.layers) {
    if (layer < 1) continue
    const list = byLayer.get(layer)
    if (list) list.push(symbol)
    else byLayer.set(layer, [symbol])
  }
  const all = [...byLayer.values()].flat().sort()
  const ledger = all.length > 0 ? await ledgerOf(deps.sql, all, stats) : new Map()
  const gaps: SessionGap[] = []
  let series = 0
  let sessions = 0
  let recorded = 0
  for (const [layer, symbols] of [...byLayer].sort((a, b) => b[0] - a[0])) {
    for (const owed of owedSessions(q.policy, q.calendar, layer, q.dataTypes, q.now)) {
      if (owed.sessions.length === 0) continue
      const hot = await hotDayCounts(deps.sql, owed.interval, symbols, owed.from, owed.to, stats)
      const found = new Map<string, SessionGap[]>()
      await eachLimited(symbols, q.concurrency ?? 16, async (symbol) => {
        const cold = await coldDayCounts({ sql: deps.sql, store: deps.store }, symbol, owed.interval, owed.from, owed.to, stats)
        found.set(symbol, judge(symbol, layer, owed, hot.get(symbol), cold))
      })
      for (const symbol of symbols) {
        series++
        sessions += owed.sessions.length
        for (const g of found.get(symbol) ?? []) {
          const entry = ledger.get(ledgerKey(symbol, owed.interval, g.day))
          if (entry && RECORDED.includes(entry.status)) { recorded++; continue }
          gaps.push(entry?.status === "exhausted" ? { ...g, exhausted: true } : g)
        }
      }
    }
  }
  gaps.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0) || a.interval.localeCompare(b.interval) || a.day - b.day)
  return { now: q.now, calendar: q.calendar.data.code, symbols: all.length, series, sessions, recorded, gaps, stats }
}

const judge = (
  symbol: string, layer: Layer, owed: OwedSeries, hot: ReadonlyMap<number, number> | undefined, cold: ReadonlyMap<number, number>
): SessionGap[] => {
  const out: SessionGap[] = []
  for (const o of owed.sessions) {
    const h = hot?.get(o.session.day) ?? 0
    const c = cold.get(o.session.day) ?? 0
    if (Math.max(h, c) >= o.expected) continue
    out.push({
      symbol, layer, interval: owed.interval, dataTypes: owed.dataTypes, session: o.session.date, day: o.session.day,
      tier: o.tier, expected: o.expected, hot: h, cold: c, exhausted: false, hotFrom: owed.hotFrom
    })
  }
  return out
}
