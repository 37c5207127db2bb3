/**
 * Namespace replay: the real engine (startEngine: ingest, atomic step, projector) runs
 * against its own key prefix and its own PostgreSQL schema, fed the recorded entries under
 * their original entry IDs, so causes and command IDs equal the live ones and a live
 * install is untouched. Returns what the engine wrote, read back from its streams.
 * Refuses a namespace that already holds data unless asked to reset it. It lives in the
 * application layer because it wires a whole engine process (infrastructure, engine fibers)
 * into a scope of its own; replay/ keeps the pure replay pieces it uses.
 */
import { pollUntil } from "../services/poll.ts"
import { Effect } from "effect"
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"
import { startEngine } from "./engine-process.ts"
import { actorLayers, projectorBehind } from "../engine/reconcile.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { StoresService } from "../services/infrastructure.ts"
import { createLogger } from "../services/logger.ts"
import { openPostgres } from "../services/postgres.ts"
import { acquire, withProcess } from "../services/process.ts"
import { mastersOf, RedisService } from "../services/redis.ts"
import { readAll } from "../../streams/stream-read.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { MAX_SPEED, Pacer, pacingTime, systemClock } from "../replay/pacing.ts"
import type { ReplayOptions } from "../replay/dry-run.ts"
import type { ReplayRun } from "../replay/summary.ts"

const NAME = /^[a-z][a-z0-9_-]{0,39}$/

export class NamespaceError extends Error {
  override readonly name = "NamespaceError"
}

/** The config of namespace `name`: prefix `name`, schema `name` with `-` as `_`. */
export const namespaceConfig = (base: Config, name: string): Config => {
  if (!NAME.test(name)) throw new NamespaceError(`--namespace ${JSON.stringify(name)}: use 1-40 lower case letters, digits, _ or -, starting with a letter`)
  const schema = name.replaceAll("-", "_")
  if (name === base.redis.prefix || schema === base.postgres.schema || schema === "public") {
    throw new NamespaceError(`--namespace ${name} is the configured live prefix or schema; pick another name`)
  }
  return { ...base, redis: { ...base.redis, prefix: name }, postgres: { ...base.postgres, schema } }
}

/**
 * Delete every key of the namespace and drop its schema. On a Redis Cluster the SCAN runs
 * on every master (a cursor is one node's) and each key is deleted by a command of its
 * own, since one DEL may not name keys of several slots.
 */
export const resetNamespace = async (redis: Redis, databaseUrl: string, config: Config): Promise<void> => {
  for (const node of mastersOf(redis)) {
    let cursor = "0"
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${config.redis.prefix}:*`, "COUNT", 1000)
      if (keys.length > 0) {
        if (redis.isCluster) for (const k of keys) await redis.del(k)
        else await redis.del(...keys)
      }
      cursor = next
    } while (cursor !== "0")
  }
  const sql = openPostgres(databaseUrl, config.postgres.schema, 1)
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${config.postgres.schema}" CASCADE`)
  } finally {
    await sql.end({ timeout: 2 })
  }
}

export interface NamespaceOptions extends ReplayOptions {
  /** Clear the namespace first when it holds data. */
  readonly reset?: boolean
  /** Give up when the engine makes no progress for this long (default 60 s). */
  readonly stallTimeoutMs?: number
}

const fieldsOf = async (redis: Redis, key: string): Promise<string[][]> => {
  const out: string[][] = []
  for await (const e of readAll(redis, key)) out.push([...e.fields])
  return out
}

/**
 * Replay `entries` through the real engine in the namespace `config` describes: one Effect
 * program whose scope holds the stores, the feeding connection and the engine.
 */
export const namespaceReplay = (
  entries: AsyncIterable<StreamEntry> | Iterable<StreamEntry>, config: Config, options: NamespaceOptions = {}
): Promise<ReplayRun> => {
  const ingress = ingressKeys(config.redis.prefix)
  const keys = partitionKeys(config.redis.prefix, 0)
  const log = createLogger("strata-replay", process.env["LOG_LEVEL"] ?? "warn")
  const attempt = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (e) => e })
  const program = Effect.gen(function* () {
    const infra = yield* StoresService
    const redis = (yield* acquire(RedisService.layer("strata-replay"), RedisService)).client
    yield* attempt(async () => {
      // One EXISTS a key: the ingress stream and the partition's keys are of two slots on a Cluster.
      const present = await Promise.all([keys.snapshots, keys.lifecycle, keys.backfill, ingress.scores].map((k) => redis.exists(k)))
      if (present.some((n) => n > 0)) {
        if (!options.reset) throw new NamespaceError(`namespace ${config.redis.prefix} already holds data; pass --reset to clear it`)
        await resetNamespace(redis, infra.databaseUrl, config)
      }
    })
    yield* startEngine(config, log)
    return yield* attempt(() => feed(redis))
  })
  const feed = async (redis: Redis): Promise<ReplayRun> => {
    const speed = options.speed ?? MAX_SPEED
    const pacer = new Pacer(speed, options.clock ?? systemClock)
    const batchSize = options.batchSize ?? config.ingest.batch_size
    let sent = 0
    let batch: StreamEntry[] = []
    const flush = async () => {
      if (batch.length === 0) return
      const pipe = redis.pipeline()
      for (const e of batch) pipe.xadd(ingress.scores, e.id, ...e.fields)
      const replies = (await pipe.exec()) ?? []
      const failed = replies.findIndex(([err]) => err)
      if (failed >= 0) {
        throw new NamespaceError(`cannot append entry ${batch[failed]?.id}: ${String(replies[failed]?.[0])} (entries must be in ascending ID order)`)
      }
      sent += batch.length
      batch = []
      options.onProgress?.(await applied(redis as Redis, keys.stats))
    }
    for await (const entry of entries) {
      if (speed.kind !== "max") {
        const wait = pacer.delay(pacingTime(entry.id, entry.fields))
        if (wait > 0) {
          await flush()
          await pacer.sleep(wait)
        }
      }
      batch.push(entry)
      if (batch.length >= batchSize) await flush()
    }
    await flush()
    // Wait for the engine to apply everything and the projector to catch up.
    const stall = options.stallTimeoutMs ?? 60_000
    let last = -1
    let since = performance.now()
    // No overall limit: the run fails only when the engine stops making progress.
        await pollUntil("the namespace engine to apply every entry", async () => {
      const done = await applied(redis, keys.stats)
      options.onProgress?.(done)
      if (done >= sent && (await projectorBehind(redis, keys.lifecycle)) === 0) return true
      if (done !== last) {
        last = done
        since = performance.now()
      } else if (performance.now() - since > stall) {
        throw new NamespaceError(`engine stalled at ${done} of ${sent} entries`)
      }
      return false
    }, undefined, 25)
    const stats = await redis.hgetall(keys.stats)
    const layers = await actorLayers(redis, keys.snapshots)
    const finalLayers = new Map<string, Layer>()
    for (const [symbol, layer] of [...layers].sort(([a], [b]) => (a < b ? -1 : 1))) finalLayers.set(symbol, layer as Layer)
    return {
      counts: {
        events: Number(stats["entries"] ?? 0),
        applied: Number(stats["applied"] ?? 0),
        late: Number(stats["late"] ?? 0),
        dead: Number(stats["dead"] ?? 0)
      },
      lifecycle: await fieldsOf(redis, keys.lifecycle),
      backfill: await fieldsOf(redis, keys.backfill),
      dead: await fieldsOf(redis, ingress.scoresDead),
      finalLayers
    }
  }
  return Effect.runPromise(Effect.scoped(program.pipe(withProcess(config, log))))
}

const applied = async (redis: Redis, statsKey: string): Promise<number> =>
  Number((await redis.hget(statsKey, "entries")) ?? 0)
