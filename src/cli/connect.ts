/**
 * Connections for one-shot commands (reconcile, status, …): the same resolution as the
 * engine (configured URLs, else the private servers under the data folder, reused when
 * running), without the engine's loops. The command's body runs inside the one Effect
 * program of the command, with the Redis, PostgreSQL and object store services built for
 * it; whatever the body's outcome, the scope closes: clients end, and a private server
 * started for this command alone is stopped (one found running, an engine's, is left).
 */
import { Effect } from "effect"
import type { Config } from "../../config/schema.ts"
import { COMPANIES_DDL } from "../engine/companies-schema.ts"
import { createLogger } from "../services/logger.ts"
import { ObjectStoreService } from "../services/object-store.ts"
import { PostgresService, type Sql } from "../services/postgres.ts"
import { StoresService } from "../services/infrastructure.ts"
import { acquire, withProcess } from "../services/process.ts"
import { RedisService, type Redis } from "../services/redis.ts"
import type { ObjectStore } from "../storage/object-store.ts"

export interface Connections {
  readonly redis: Redis
  readonly sql: Sql
  /** The Redis the connections resolved to (for clients of their own, e.g. a rate limiter). */
  readonly redisUrl: string
  readonly store: ObjectStore
}

/** The services of a one-shot command: one Redis connection, a small pool with the companies table, the lake. */
export const connections = (name = "strata-cli") =>
  Effect.gen(function* () {
    const redis = yield* acquire(RedisService.layer(name), RedisService)
    const pg = yield* acquire(PostgresService.layer({ max: 2, migrations: COMPANIES_DDL }), PostgresService)
    const store = yield* acquire(ObjectStoreService.layer, ObjectStoreService)
    const { redisUrl } = yield* StoresService
    return { redis: redis.client, sql: pg.sql, redisUrl, store } satisfies Connections
  })

/**
 * Run `body` with the command's connections: the command's single entry into Effect.
 * A failure (a store that does not answer or refuses the credentials, the body's own)
 * rejects with the error itself.
 */
export const withConnections = <A>(config: Config, body: (c: Connections) => Promise<A>, name = "strata-cli"): Promise<A> => {
  const log = createLogger(name, process.env["LOG_LEVEL"] ?? "warn")
  return Effect.runPromise(Effect.scoped(
    connections(name).pipe(
      Effect.flatMap((c) => Effect.tryPromise({ try: () => body(c), catch: (e) => e })),
      withProcess(config, log)
    )
  ))
}

/** Like `withConnections`, for a command that needs only Redis (no pool, no migration, no lake). */
export const withRedis = <A>(config: Config, name: string, body: (redis: Redis) => Promise<A>): Promise<A> => {
  const log = createLogger(name, process.env["LOG_LEVEL"] ?? "warn")
  return Effect.runPromise(Effect.scoped(
    acquire(RedisService.layer(name), RedisService).pipe(
      Effect.flatMap((r) => Effect.tryPromise({ try: () => body(r.client), catch: (e) => e })),
      withProcess(config, log)
    )
  ))
}
