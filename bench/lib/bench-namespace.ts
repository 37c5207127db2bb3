/**
 * A private namespace for one bench measurement: its own key prefix and PostgreSQL schema
 * on the bench's servers, a config (and a YAML file for child engines) with the given
 * overrides, the environment a child engine needs, and a cleanup that removes both.
 */
import { randomBytes } from "node:crypto"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "yaml"
import { loadConfig, mergeConfig } from "../../config/load.ts"
import type { Config } from "../../config/schema.ts"
import { openPostgres } from "../../src/services/postgres.ts"
import { mastersOf, openRedis, type Redis } from "../../src/services/redis.ts"
import type { BenchContext } from "../scenario.ts"

export interface BenchNamespace {
  readonly prefix: string
  readonly schema: string
  readonly config: Config
  readonly redis: Redis
  /** Environment for a child `strata engine` bound to this namespace. */
  readonly env: NodeJS.ProcessEnv
  readonly cleanup: () => Promise<void>
}

/**
 * Remove the keys matching `pattern`: SCAN on every master (a Cluster's cursor is a node's),
 * and on a Cluster one UNLINK a key, since the keys of one node span slots.
 */
export const deleteKeys = async (redis: Redis, pattern: string): Promise<void> => {
  for (const node of mastersOf(redis)) {
    let cursor = "0"
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 2000)
      if (keys.length > 0 && !redis.isCluster) await node.unlink(...keys)
      else if (keys.length > 0) {
        const p = node.pipeline()
        for (const k of keys) p.unlink(k)
        for (const [err] of (await p.exec()) ?? []) if (err) throw err
      }
      cursor = next
    } while (cursor !== "0")
  }
}

/**
 * What every bench engine runs with: the engine alone (ingest, atomic step, projector).
 * Backfill workers and tiering after each demotion have scenarios of their own and would
 * compete for the same CPU here; HTTP listens on a free port so that engines never collide.
 */
export const ENGINE_ALONE = {
  backfill: { enabled: false }, http: { port: 0 }, storage: { tiering: { on_demotion: false } }
} as const

export const benchNamespace = async (ctx: BenchContext, label: string, extra: Record<string, unknown> = {}): Promise<BenchNamespace> => {
  // The scratch folder holds anything the engine writes to disk (the local lake).
  const overrides = mergeConfig({ ...ENGINE_ALONE, data_dir: ctx.tmpDir }, extra) as Record<string, unknown>
  const id = randomBytes(4).toString("hex")
  const prefix = `bench-${label}-${id}`
  const schema = `bench_${label.replace(/[^a-z0-9]/g, "_")}_${id}`
  const config = loadConfig({
    env: {},
    overrides: { ...overrides, redis: { url: ctx.redisUrl, prefix }, postgres: { url: ctx.databaseUrl, schema } }
  })
  const file = join(ctx.tmpDir, `${prefix}.yaml`)
  writeFileSync(file, stringify(overrides))
  const redis = openRedis(ctx.redisUrl, `bench-${label}`)
  const env: NodeJS.ProcessEnv = {
    ...process.env, REDIS_URL: ctx.redisUrl, DATABASE_URL: ctx.databaseUrl, STRATA_PREFIX: prefix,
    STRATA_PG_SCHEMA: schema, STRATA_CONFIG: file, LOG_LEVEL: "info"
  }
  return {
    prefix, schema, config, redis, env,
    cleanup: async () => {
      await deleteKeys(redis, `${prefix}:*`)
      const sql = openPostgres(ctx.databaseUrl, "public", 1)
      try {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      } finally {
        await sql.end({ timeout: 2 })
      }
      await redis.quit().catch(() => redis.disconnect())
    }
  }
}
