/**
 * `strata tier --now`: one tiering pass (hot → Parquet, retention, demotions applied) and
 * its report. Also the wiring the engine forks: where a symbol's layer comes from (the
 * actor snapshot in Redis, else the companies table) and the feed of demotions read from
 * the lifecycle stream.
 */
import type { Redis } from "ioredis"
import { partitionKeys } from "../../streams/keys.ts"
import type { Config } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"
import { parseEventTime } from "../domain/time.ts"
import type { Logger } from "../services/logger.ts"
import { migrate, type Sql } from "../services/postgres.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { openObjectStore, type ObjectStore } from "../storage/object-store.ts"
import { runTiering, tieringFiber } from "../storage/tiering.ts"
import { infrastructureOnly } from "./connect.ts"
import { configOrExit } from "./shared.ts"

const isLayer = (n: unknown): n is Layer => n === 0 || n === 1 || n === 2 || n === 3

/**
 * Layers of symbols: the actor's persisted snapshot (the source of truth) first, the
 * companies projection for symbols without one. Unknown symbols are absent.
 */
export const symbolLayers = (redis: Redis, sql: Sql, prefix: string) =>
  async (symbols: readonly string[]): Promise<ReadonlyMap<string, Layer>> => {
    const out = new Map<string, Layer>()
    if (symbols.length === 0) return out
    const snapshots = await redis.hmget(partitionKeys(prefix, 0).snapshots, ...symbols)
    const missing: string[] = []
    symbols.forEach((s, i) => {
      const json = snapshots[i]
      const layer = json ? (JSON.parse(json) as { layer?: unknown }).layer : undefined
      if (isLayer(layer)) out.set(s, layer)
      else missing.push(s)
    })
    if (missing.length > 0) {
      try {
        const rows = await sql<{ symbol: string; layer: number }[]>`SELECT symbol, layer FROM companies WHERE symbol = ANY(${missing})`
        for (const r of rows) if (isLayer(r.layer)) out.set(r.symbol, r.layer)
      } catch (e) {
        // No companies table yet (storage used without the engine): nothing more is known.
        if ((e as { code?: string }).code !== "42P01") throw e
      }
    }
    return out
  }

const DEMOTIONS = new Set(["SymbolDemoted", "SymbolDisqualified"])

/**
 * Demoted and disqualified symbols as they appear on the lifecycle stream, from entries
 * added after the feed starts (a full pass at start-up covers anything earlier). Needs a
 * connection of its own: each call blocks up to `blockMs`.
 */
export const demotionFeed = (redis: Redis, prefix: string, blockMs = 5_000) => {
  const stream = partitionKeys(prefix, 0).lifecycle
  let last = "$"
  return async (): Promise<readonly string[]> => {
    const res = await redis.xread("COUNT", 500, "BLOCK", blockMs, "STREAMS", stream, last)
    const entries = res?.[0]?.[1] ?? []
    const symbols = new Set<string>()
    for (const [id, fields] of entries) {
      last = id
      const f: Record<string, string> = {}
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string
      if (DEMOTIONS.has(f["type"] ?? "") && f["symbol"]) symbols.add(f["symbol"])
    }
    return [...symbols]
  }
}

/**
 * The tiering fiber as the engine runs it: scheduled passes plus a pass per batch of
 * demotions. `feedRedis` must be a connection used for nothing else (it blocks).
 */
export const engineTiering = (
  config: Config, deps: { redis: Redis; feedRedis: Redis; sql: Sql; store: ObjectStore; log: Logger }
) =>
  tieringFiber({
    sql: deps.sql, store: deps.store, log: deps.log,
    layersOf: symbolLayers(deps.redis, deps.sql, config.redis.prefix),
    demotions: demotionFeed(deps.feedRedis, config.redis.prefix)
  }, config)

export const tierCommand = async (opts: { config?: string; now?: boolean; at?: string; symbols?: string; json?: boolean }): Promise<void> => {
  if (!opts.now) {
    process.stderr.write("strata tier runs one pass with --now; the engine runs tiering on its schedule (storage.tiering.every)\n")
    process.exitCode = 2
    return
  }
  const at = opts.at === undefined ? Date.now() : parseEventTime(opts.at)
  if (at === undefined) {
    process.stderr.write(`--at: expected ms since the epoch or an ISO-8601 time, got "${opts.at}"\n`)
    process.exitCode = 2
    return
  }
  const config = configOrExit(opts.config)
  const conn = await infrastructureOnly(config)
  const store = openObjectStore(config.storage)
  try {
    await migrate(conn.sql, config.postgres.schema, STORAGE_DDL)
    const symbols = opts.symbols ? opts.symbols.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean) : undefined
    const report = await runTiering(
      { sql: conn.sql, store, layersOf: symbolLayers(conn.redis, conn.sql, config.redis.prefix) },
      config.retention, at, symbols
    )
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    else {
      process.stdout.write(
        `series: ${report.series}  moved to cold: ${report.moved} rows  hot rows expired: ${report.hotExpired}  ` +
        `objects deleted: ${report.objectsDeleted}  trimmed: ${report.objectsTrimmed}  (lake: ${store.location})\n`)
      if (report.unknown.length > 0) {
        process.stdout.write(`left untouched, layer unknown: ${report.unknown.slice(0, 20).join(", ")}${report.unknown.length > 20 ? " …" : ""}\n`)
      }
    }
  } finally {
    await store.close()
    await conn.close()
  }
}
