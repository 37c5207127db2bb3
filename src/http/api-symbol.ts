/**
 * `GET /api/symbol?symbol=AAPL`: one symbol as the operator looks it up: its layer (the
 * actor's persisted snapshot and the companies row), its history of transitions, its
 * coverage per series and tier (storage_coverage), and its recent backfill commands with
 * the last error. A missing or malformed symbol answers 400; a symbol the engine never
 * saw answers 200 with `known: false`.
 * Reads only.
 */
import type { Redis } from "ioredis"
import { persistedLayer } from "../../machines/lifecycle.ts"
import { isValidSymbol, normaliseSymbol } from "../domain/symbols.ts"
import type { Sql } from "../services/postgres.ts"
import { tableExists } from "./figures.ts"
import { sendJson, type RouteHandler } from "./ops-server.ts"

export interface SymbolDeps {
  readonly redis: Redis
  readonly sql: Sql
  /** The snapshots hash of the symbol's partition (one hash in an install of one partition). */
  readonly snapshots: string | ((symbol: string) => string)
}

export interface SymbolView {
  readonly symbol: string
  readonly known: boolean
  /** Layer of the actor's persisted snapshot (the engine's view). */
  readonly actorLayer: number | null
  /** Layer of the companies row (the projection's view). */
  readonly companiesLayer: number | null
  readonly lastEventAt: number | null
  readonly transitions: readonly { type: string; from: number; to: number; at: number; cause: string }[]
  readonly coverage: readonly { kind: string; interval: string; tier: string; ranges: number; from: number; to: number; coveredMs: number }[]
  readonly backfill: readonly { command_id: string; layer: number; status: string; planned: number; done: number; failed: number; last_error: string | null; updated: number }[]
  /** The most recent error of any of its backfill commands. */
  readonly lastError: { readonly command_id: string; readonly error: string; readonly at: number } | null
}

export const symbolView = async (d: SymbolDeps, symbol: string): Promise<SymbolView> => {
  const [snapshot, company, transitions, hasCoverage, hasProgress] = await Promise.all([
    d.redis.hget(typeof d.snapshots === "string" ? d.snapshots : d.snapshots(symbol), symbol),
    d.sql<{ layer: number; at: number | null }[]>`SELECT layer::int AS layer, last_event_ms::float8 AS at FROM companies WHERE symbol = ${symbol}`,
    d.sql<SymbolView["transitions"][number][]>`
      SELECT event_type AS type, from_layer::int AS "from", to_layer::int AS "to", at_ms::float8 AS at, cause
      FROM layer_transitions WHERE symbol = ${symbol} ORDER BY at_ms DESC, cause DESC LIMIT 50`,
    tableExists(d.sql, "storage_coverage"),
    tableExists(d.sql, "backfill_progress")
  ])
  const coverage = hasCoverage
    ? await d.sql<SymbolView["coverage"][number][]>`
        SELECT kind, interval, tier, count(*)::int AS ranges, min(from_ms)::float8 AS "from", max(to_ms)::float8 AS "to",
               sum(to_ms - from_ms)::float8 AS "coveredMs"
        FROM storage_coverage WHERE symbol = ${symbol} GROUP BY kind, interval, tier ORDER BY kind, interval, tier`
    : []
  const backfill = hasProgress
    ? await d.sql<SymbolView["backfill"][number][]>`
        SELECT command_id, layer::int AS layer, status, planned::int AS planned, done::int AS done, failed::int AS failed,
               last_error, (extract(epoch FROM updated_at) * 1000)::float8 AS updated
        FROM backfill_progress WHERE symbol = ${symbol} ORDER BY updated_at DESC LIMIT 20`
    : []
  const errored = hasProgress
    ? await d.sql<{ command_id: string; error: string; at: number }[]>`
        SELECT command_id, last_error AS error, (extract(epoch FROM updated_at) * 1000)::float8 AS at
        FROM backfill_progress WHERE symbol = ${symbol} AND last_error IS NOT NULL ORDER BY updated_at DESC LIMIT 1`
    : []
  const actorLayer = persistedLayer(snapshot) ?? null
  const row = company[0]
  return {
    symbol,
    known: snapshot !== null || row !== undefined || transitions.length > 0,
    actorLayer,
    companiesLayer: row?.layer ?? null,
    lastEventAt: row?.at ?? null,
    transitions: transitions.map((t) => ({ ...t })),
    coverage: coverage.map((c) => ({ ...c })),
    backfill: backfill.map((b) => ({ ...b })),
    lastError: errored[0] ? { ...errored[0] } : null
  }
}

export const apiSymbolHandler = (d: SymbolDeps): RouteHandler => async (_req, res, url) => {
  const raw = url.searchParams.get("symbol")
  if (raw === null || raw.trim() === "") return sendJson(res, 400, { error: "symbol: required, e.g. ?symbol=AAPL" })
  const symbol = normaliseSymbol(raw)
  if (!isValidSymbol(symbol)) return sendJson(res, 400, { error: `symbol: "${symbol.slice(0, 20)}" is not a ticker (letters, digits, . and -, at most 15)` })
  sendJson(res, 200, await symbolView(d, symbol))
}
