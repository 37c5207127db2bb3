/**
 * A private namespace per test: its own Redis key prefix and PostgreSQL schema on the
 * shared test servers (or on another Redis, a Cluster say: servers.ts), a config pointing
 * at them, and a cleanup that removes both.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { loadConfig } from "../../config/load.ts"
import type { Config } from "../../config/schema.ts"
import { migrate, openPostgres, type Sql } from "../../src/services/postgres.ts"
import { mastersOf, openRedis, type Redis } from "../../src/services/redis.ts"

export interface TestNamespace {
  readonly prefix: string
  readonly schema: string
  readonly config: Config
  readonly redisUrl: string
  readonly databaseUrl: string
  readonly redis: Redis
  readonly sql: Sql
  /** Environment for a child process (engine, CLI) bound to this namespace. */
  readonly env: NodeJS.ProcessEnv
  readonly cleanup: () => Promise<void>
}

/** Overrides for tests of the engine core alone: no backfill workers in the engine process. */
export const ENGINE_ONLY = { backfill: { enabled: false } } as const

/** `redisUrl`: the Redis to use instead of the run's standalone server (a `redis+cluster://` URL, say). */
export const testNamespace = async (overrides: Record<string, unknown> = {}, redisUrl: string = inject("redisUrl")): Promise<TestNamespace> => {
  const id = randomBytes(5).toString("hex")
  const prefix = `t${id}`
  const schema = `t_${id}`
  const databaseUrl = inject("databaseUrl")
  // Its own data folder, so its lake (data_dir/lake) is nobody else's.
  const dataDir = mkdtempSync(join(tmpdir(), `strata-${prefix}-`))
  const config = loadConfig({
    env: {},
    overrides: { http: { port: 0 }, data_dir: dataDir, ...overrides, redis: { url: redisUrl, prefix }, postgres: { url: databaseUrl, schema } }
  })
  const redis = openRedis(redisUrl, `test-${id}`)
  const sql = openPostgres(databaseUrl, schema, 4)
  await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
  const env = {
    ...process.env, REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, STRATA_PREFIX: prefix,
    STRATA_PG_SCHEMA: schema, STRATA_HTTP_PORT: "0", STRATA_DATA_DIR: dataDir, LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn"
  }
  return {
    prefix, schema, config, redisUrl, databaseUrl, redis, sql, env,
    cleanup: async () => {
      // SCAN's cursor is one node's: scan every master, and delete key by key there (the
      // keys of a Cluster master lie in many slots, which one DEL may not span).
      for (const node of mastersOf(redis)) {
        let cursor = "0"
        do {
          const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
          if (keys.length > 0) await (redis.isCluster ? Promise.all(keys.map((k) => node.del(k))) : node.del(...keys))
          cursor = next
        } while (cursor !== "0")
      }
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await sql.end({ timeout: 2 })
      await redis.quit()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** A namespace whose schema already holds the given tables (idempotent DDL lists). */
export const testNamespaceWith = async (ddl: readonly string[], overrides: Record<string, unknown> = {}): Promise<TestNamespace> => {
  const ns = await testNamespace(overrides)
  await migrate(ns.sql, ns.schema, ddl)
  return ns
}
