/**
 * The PostgreSQL client service (postgres.js), bound to one schema through search_path so
 * replay namespaces and tests each get their own tables. Migrations are idempotent DDL
 * lists owned by the modules whose tables they create.
 */
import { Effect } from "effect"
import postgres from "postgres"

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
