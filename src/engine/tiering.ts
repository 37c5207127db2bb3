/**
 * Tiering as the engine runs it: where a symbol's layer comes from (the actor snapshot in
 * Redis, else the companies table), the feed of demotions read from the lifecycle stream,
 * and the fiber that runs scheduled passes plus a pass per batch of demotions.
 * The passes themselves are storage's (src/storage/tiering.ts).
 */
import type { Redis } from "ioredis"
import { StreamsFollower } from "../../streams/stream-read.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { readSnapshots, type SnapshotPlace } from "../../streams/snapshots-read.ts"
import { decodeLifecycleEntry } from "../../streams/lifecycle-wire.ts"
import type { Config } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"
import type { Logger } from "../services/logger.ts"
import type { Sql } from "../services/postgres.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { tieringFiber } from "../storage/tiering.ts"
import { persistedLayer } from "../../machines/lifecycle.ts"

const isLayer = (n: unknown): n is Layer => n === 0 || n === 1 || n === 2 || n === 3

/**
 * Layers of symbols: the actor's persisted snapshot (the source of truth) first, the
 * companies projection for symbols without one. Unknown symbols are absent.
 */
export const symbolLayers = (redis: Redis, sql: Sql, place: SnapshotPlace) =>
  async (symbols: readonly string[]): Promise<ReadonlyMap<string, Layer>> => {
    const out = new Map<string, Layer>()
    if (symbols.length === 0) return out
    const snapshots = await readSnapshots(redis, place, symbols)
    const missing: string[] = []
    symbols.forEach((s, i) => {
      const layer = persistedLayer(snapshots[i])
      if (layer !== undefined) out.set(s, layer)
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

const DEMOTIONS: ReadonlySet<string> = new Set(["SymbolDemoted", "SymbolDisqualified"])

/**
 * Demoted and disqualified symbols as they appear on the lifecycle stream, from entries
 * added after the feed starts (a full pass at start-up covers anything earlier). Entries
 * that do not decode are passed over: the projector dead-letters and logs each of them.
 * Needs a connection of its own: each call blocks up to `blockMs` (on a Redis Cluster,
 * where the partitions' streams are read slot by slot, see StreamsFollower).
 */
export const demotionFeed = (redis: Redis, streams: readonly string[], blockMs = 5_000) => {
  const follower = new StreamsFollower(redis, streams, 500, blockMs)
  return async (): Promise<readonly string[]> => {
    const symbols = new Set<string>()
    for (const { entries } of await follower.next()) {
      for (const entry of entries) {
        const d = decodeLifecycleEntry(entry)
        if (d.ok && DEMOTIONS.has(d.event.type)) symbols.add(d.event.symbol)
      }
    }
    return [...symbols]
  }
}

/** The lifecycle streams of every partition of the install. */
export const lifecycleStreams = (config: Pick<Config, "redis" | "partitions">): readonly string[] =>
  Array.from({ length: config.partitions }, (_, p) => partitionKeys(config.redis.prefix, p, config.partitions).lifecycle)

/**
 * The tiering fiber as the engine runs it: scheduled passes plus a pass per batch of
 * demotions. `feedRedis` must be a connection used for nothing else (it blocks).
 */
export const engineTiering = (
  config: Config, deps: { redis: Redis; feedRedis: Redis; sql: Sql; store: ObjectStore; log: Logger }
) =>
  tieringFiber({
    sql: deps.sql, store: deps.store, log: deps.log,
    layersOf: symbolLayers(deps.redis, deps.sql, { prefix: config.redis.prefix, partitions: config.partitions }),
    // The feed's blocking read bounds how long shutdown waits for it: keep it as short as ingest's.
    demotions: demotionFeed(deps.feedRedis, lifecycleStreams(config), config.ingest.block_ms)
  }, config)

