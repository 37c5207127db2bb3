/**
 * Where Redis and PostgreSQL are: the configured URLs when they answer, else private
 * servers under the data folder (the embedded defaults), shared by every Strata process on
 * that folder and stopped by the last one out. A Redis URL given explicitly (REDIS_URL or
 * a config file) must answer; the default local one may be absent. A store that refuses
 * the credentials is reported as such, never as "does not answer". The log says which
 * store was chosen and why. A `redis+cluster://` URL (config/redis-url.ts) is always an
 * explicit one: the probe waits for the Cluster to be ready (every slot served) and PINGs it.
 * Does not open the engine's own connections.
 */
import { join, resolve } from "node:path"
import { Context, Data, Effect, Layer } from "effect"
import { Redis, type Cluster } from "ioredis"
import postgres from "postgres"
import type { Config } from "../../config/schema.ts"
import { ConfigService } from "./config.ts"
import { LoggerService, maskUrl, type Logger } from "./logger.ts"
import { postgresFailure, redisFailure, type DependencyError } from "./dependency-errors.ts"
import { openCluster } from "./redis-client.ts"
import { parseRedisUrl } from "../../config/redis-url.ts"
import { MissingBinaryError, startPostgres, startRedis, type PrivateServer } from "./private-servers.ts"
import { acquireShared } from "./server-users.ts"

export interface Infrastructure {
  readonly redisUrl: string
  readonly databaseUrl: string
}

const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"

/** A private server that could not be started or reused (its log under the data folder says why). */
export class PrivateServerError extends Data.TaggedError("PrivateServerError")<{ readonly what: string; readonly message: string; readonly cause: unknown }> {}

export type StoresError = DependencyError | MissingBinaryError | PrivateServerError

/**
 * What a PING round says about Redis at `url`: undefined when it answered PONG, else why
 * not. `firstEvent` is the first error event the client (or one of its nodes) emitted: a
 * refused AUTH, a refused connection. It is preferred to the command's own failure, which
 * is then only "Connection is closed" or "None of startup nodes is available".
 */
export const pingVerdict = (url: string, outcome: { readonly pong: string } | { readonly failed: unknown; readonly firstEvent?: Error | undefined }): DependencyError | undefined => {
  if ("pong" in outcome) return outcome.pong === "PONG" ? undefined : redisFailure(url, new Error(`PING answered ${outcome.pong}`))
  return redisFailure(url, outcome.firstEvent ?? outcome.failed)
}

/**
 * Connect the (lazy, non-reconnecting) client, PING it once, disconnect it, and say why it
 * did not answer. A Cluster's nodes are watched too: their errors say why, the Cluster's
 * does not. A single Redis never emits the node events, so one body serves both.
 */
const pingProbe = async (url: string, client: Redis | Cluster): Promise<DependencyError | undefined> => {
  let firstEvent: Error | undefined
  const keep = (e: Error) => { firstEvent ??= e }
  client.on("error", keep)
  client.on("node error", keep)
  client.on("+node", (node: Redis) => node.on("error", keep))
  try {
    await client.connect()
    return pingVerdict(url, { pong: await client.ping() })
  } catch (e) {
    return pingVerdict(url, { failed: e, firstEvent })
  } finally {
    client.disconnect()
  }
}

/**
 * Undefined when Redis at `url` answers PING; else why not (down, or refusing the
 * credentials). A Cluster must be ready (CLUSTER INFO says every slot is served). No
 * retries: one round (of the seeds, for a Cluster).
 */
const redisProbe = (url: string): Promise<DependencyError | undefined> => {
  const target = parseRedisUrl(url)
  return pingProbe(url, target.kind === "cluster"
    ? openCluster(target, { connectTimeout: 1500, maxRetriesPerRequest: 0 }, { lazyConnect: true, reconnect: false })
    // No ready check: a server that wants a password then answers PING with NOAUTH
    // instead of closing the connection on a failed INFO.
    : new Redis(url, { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 }))
}

/** Undefined when PostgreSQL at `url` runs a query; else why not. */
const postgresProbe = async (url: string): Promise<DependencyError | undefined> => {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`select 1`
    return undefined
  } catch (e) {
    return postgresFailure(url, e)
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/**
 * A private server under `dir`, shared with every other Strata process on the same data
 * folder: started or reused here, and stopped when the scope closes only if no other live
 * process still uses it (server-users.ts).
 */
const privateServer = (what: string, dir: string, start: () => Promise<PrivateServer>, log: Logger) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => acquireShared(dir, what, start),
      // A missing binary keeps its own error: its message is the command that installs it.
      catch: (e) => (e instanceof MissingBinaryError ? e : new PrivateServerError({ what, message: `private ${what} under ${dir} did not start: ${e instanceof Error ? e.message : String(e)}`, cause: e }))
    }).pipe(
      Effect.tap(({ server: s, others }) => Effect.sync(() =>
        log.info({ url: s.url, serverPid: s.pid, reused: s.reused, otherUsers: others }, `private ${what} running`)))
    ),
    (shared) => Effect.promise(() => shared.release()).pipe(
      Effect.tap(({ stopped, others }) => Effect.sync(() => stopped
        ? log.info({ serverPid: shared.server.pid }, `private ${what} stopped (no other Strata process uses it)`)
        : log.info({ serverPid: shared.server.pid, otherUsers: others }, `private ${what} left running for the other Strata processes using it`)))
    )
  ).pipe(Effect.map((shared) => shared.server))

/**
 * Resolve both stores; private servers started here are stopped when the scope closes.
 * Logs which Redis and which PostgreSQL were chosen and why.
 */
export const infrastructure = (config: Config, log: Logger) =>
  Effect.gen(function* () {
    const dataDir = resolve(config.data_dir)
    let redisUrl = config.redis.url
    const redisDown = yield* Effect.promise(() => redisProbe(redisUrl))
    if (redisUrl !== DEFAULT_REDIS_URL) {
      if (redisDown) return yield* Effect.fail(redisDown)
      log.info({ redis: maskUrl(redisUrl) }, "Redis: the configured one (REDIS_URL or redis.url)")
    } else if (redisDown === undefined) {
      log.info({ redis: maskUrl(redisUrl) }, "Redis: found answering on the default port (redis.url not set); set REDIS_URL to choose another")
    } else if (redisDown.kind === "auth") {
      // Something answers on the default port but wants credentials: using a private
      // server instead would hide that from whoever expected this one to be used.
      return yield* Effect.fail(redisDown)
    } else {
      const server = yield* privateServer("redis-server", join(dataDir, "redis"), () => startRedis(join(dataDir, "redis"), { reuse: true }), log)
      redisUrl = server.url
      log.info({ redis: redisUrl, reused: server.reused }, `Redis: none on the default port, private redis-server ${server.reused ? "reused" : "started"} under ${join(dataDir, "redis")}`)
    }
    let databaseUrl = config.postgres.url
    if (databaseUrl === "") {
      const server = yield* privateServer("PostgreSQL", join(dataDir, "pg"), () => startPostgres(join(dataDir, "pg"), { reuse: true }), log)
      databaseUrl = server.url
      log.info({ postgres: databaseUrl, reused: server.reused }, `PostgreSQL: postgres.url not set, private cluster ${server.reused ? "reused" : "started"} under ${join(dataDir, "pg")}`)
    } else {
      const pgDown = yield* Effect.promise(() => postgresProbe(databaseUrl))
      if (pgDown) return yield* Effect.fail(pgDown)
      log.info({ postgres: maskUrl(databaseUrl) }, "PostgreSQL: the configured one (DATABASE_URL or postgres.url)")
    }
    return { redisUrl, databaseUrl } satisfies Infrastructure
  })

/** Where the stores are, as a service: resolved by its layer, private servers released with it. */
export class StoresService extends Context.Service<StoresService, Infrastructure>()("strata/Stores") {
  /** Resolve both stores for the configuration (see `infrastructure`). */
  static readonly layer: Layer.Layer<StoresService, StoresError, ConfigService | LoggerService> =
    Layer.effect(StoresService, Effect.gen(function* () {
      return yield* infrastructure(yield* ConfigService, yield* LoggerService)
    }))
  /** Stores already resolved by the caller (the engine passing its own to the workers). */
  static readonly at = (urls: Infrastructure): Layer.Layer<StoresService> => Layer.succeed(StoresService, urls)
}
