/**
 * Where Redis and PostgreSQL are: the configured URLs when they answer, else private
 * servers under the data folder (the embedded defaults). A Redis URL given explicitly
 * (REDIS_URL or a config file) must answer; the default local one may be absent.
 * Does not open the engine's own connections.
 */
import { join, resolve } from "node:path"
import { Effect } from "effect"
import { Redis } from "ioredis"
import postgres from "postgres"
import type { Config } from "../../config/schema.ts"
import type { Logger } from "./logger.ts"
import { maskUrl } from "./logger.ts"
import { startPostgres, startRedis, type PrivateServer } from "./private-servers.ts"

export interface Infrastructure {
  readonly redisUrl: string
  readonly databaseUrl: string
}

const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"

const redisAnswers = async (url: string): Promise<boolean> => {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 })
  r.on("error", () => {})
  try {
    await r.connect()
    return (await r.ping()) === "PONG"
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

const postgresAnswers = async (url: string): Promise<boolean> => {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`select 1`
    return true
  } catch {
    return false
  } finally {
    await sql.end({ timeout: 1 })
  }
}

const privateServer = (what: string, start: () => Promise<PrivateServer>, log: Logger) =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: start, catch: (e) => e as Error }).pipe(
      Effect.tap((s) => Effect.sync(() => log.info({ url: s.url, serverPid: s.pid, reused: s.reused }, `private ${what} running`)))
    ),
    // Only a server this process started is stopped: one it found running belongs to
    // whoever started it (an engine beside a CLI command, say) and is left alone.
    (s) => s.reused
      ? Effect.sync(() => log.info({ serverPid: s.pid }, `private ${what} left running (it was already running)`))
      : Effect.promise(() => s.stop()).pipe(Effect.tap(() => Effect.sync(() => log.info({ serverPid: s.pid }, `private ${what} stopped`))))
  )

/** Resolve both stores; private servers started here are stopped when the scope closes. */
export const infrastructure = (config: Config, log: Logger) =>
  Effect.gen(function* () {
    const dataDir = resolve(config.data_dir)
    let redisUrl = config.redis.url
    if (!(yield* Effect.promise(() => redisAnswers(redisUrl)))) {
      if (redisUrl !== DEFAULT_REDIS_URL) {
        return yield* Effect.fail(new Error(`Redis at ${maskUrl(redisUrl)} does not answer (set REDIS_URL or redis.url)`))
      }
      const server = yield* privateServer("redis-server", () => startRedis(join(dataDir, "redis"), { reuse: true }), log)
      redisUrl = server.url
    }
    let databaseUrl = config.postgres.url
    if (databaseUrl === "") {
      const server = yield* privateServer("PostgreSQL", () => startPostgres(join(dataDir, "pg"), { reuse: true }), log)
      databaseUrl = server.url
    } else if (!(yield* Effect.promise(() => postgresAnswers(databaseUrl)))) {
      return yield* Effect.fail(new Error(`PostgreSQL at ${maskUrl(databaseUrl)} does not answer (set DATABASE_URL or postgres.url)`))
    }
    log.info({ redis: maskUrl(redisUrl), postgres: maskUrl(databaseUrl) }, "infrastructure resolved")
    return { redisUrl, databaseUrl } satisfies Infrastructure
  })
