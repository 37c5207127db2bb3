/**
 * Connections for one-shot commands (reconcile, status, …): the same resolution as the
 * engine (configured URLs, else the private servers under the data folder, reused when
 * running), without the engine's loops. A private server found running (an engine's) is
 * left running on close; one started for this command alone is stopped.
 */
import { Effect, Exit, Scope } from "effect"
import type { Config } from "../../config/schema.ts"
import { infrastructure } from "../services/infrastructure.ts"
import { createLogger } from "../services/logger.ts"
import { migrate, openPostgres, type Sql } from "../services/postgres.ts"
import { openRedis, type Redis } from "../services/redis.ts"
import { COMPANIES_DDL } from "../engine/companies-schema.ts"

export interface Connections {
  readonly redis: Redis
  readonly sql: Sql
  /** The Redis the connections resolved to (for clients of their own, e.g. a rate limiter). */
  readonly redisUrl: string
  readonly close: () => Promise<void>
}

export const infrastructureOnly = async (config: Config): Promise<Connections> => {
  const scope = Effect.runSync(Scope.make())
  const log = createLogger("strata-cli", process.env["LOG_LEVEL"] ?? "warn")
  const closeScope = () => Effect.runPromise(Scope.close(scope, Exit.void))
  // A failure (a store that does not answer or refuses the credentials) still stops the
  // private servers started for this command alone.
  const infra = await Effect.runPromise(Scope.provide(scope)(infrastructure(config, log))).catch(async (e: unknown) => {
    await closeScope()
    throw e
  })
  const redis = openRedis(infra.redisUrl, "strata-cli")
  const sql = openPostgres(infra.databaseUrl, config.postgres.schema, 2)
  await migrate(sql, config.postgres.schema, COMPANIES_DDL).catch(async (e: unknown) => {
    redis.disconnect()
    await sql.end({ timeout: 1 })
    await closeScope()
    throw e
  })
  return {
    redis,
    sql,
    redisUrl: infra.redisUrl,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect())
      await sql.end({ timeout: 2 })
      await closeScope()
    }
  }
}
