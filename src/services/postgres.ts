/**
 * The PostgreSQL client service (postgres.js), bound to one schema through search_path so
 * replay namespaces and tests each get their own tables. Migrations are idempotent DDL
 * lists owned by the modules whose tables they create; the layer runs the ones its
 * process needs before anything reads a table, and ends the pool when its scope closes.
 * Does not choose which PostgreSQL: the Stores service (infrastructure.ts) does.
 */
import { Context, Effect, Layer } from "effect"
import postgres from "postgres"
import { ConfigService } from "./config.ts"
import { tryPostgres, type PostgresError } from "./errors.ts"
import { StoresService } from "./infrastructure.ts"

export type Sql = postgres.Sql

export const openPostgres = (url: string, schema: string, max = 10): Sql =>
  postgres(url, {
    max,
    onnotice: () => {},
    connection: { search_path: schema, application_name: "strata" }
  })

export const scopedPostgres = (url: string, schema: string, max = 10) =>
  Effect.acquireRelease(
    Effect.sync(() => openPostgres(url, schema, max)),
    (sql) => Effect.promise(() => sql.end({ timeout: 5 }))
  )

/** Create the schema if needed, then run each statement (each must be idempotent). */
export const migrate = async (sql: Sql, schema: string, statements: readonly string[]): Promise<void> => {
  await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
  for (const s of statements) await sql.unsafe(s)
}

export interface PostgresClient {
  readonly sql: Sql
  /** The URL in use (a private cluster's when none is configured). */
  readonly url: string
}

export interface PostgresOptions {
  /** Pool size. */
  readonly max: number
  /** Idempotent DDL run once the pool is open, in order (one migration at a time). */
  readonly migrations?: readonly string[]
}

export class PostgresService extends Context.Service<PostgresService, PostgresClient>()("strata/Postgres") {
  static readonly layer = (options: PostgresOptions): Layer.Layer<PostgresService, PostgresError, StoresService | ConfigService> =>
    Layer.effect(PostgresService, Effect.gen(function* () {
      const { databaseUrl } = yield* StoresService
      const { postgres: pg } = yield* ConfigService
      const sql = yield* scopedPostgres(databaseUrl, pg.schema, options.max)
      const ddl = options.migrations ?? []
      if (ddl.length > 0) yield* tryPostgres("migrate", () => migrate(sql, pg.schema, ddl))
      return { sql, url: databaseUrl }
    }))
}
