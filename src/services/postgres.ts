/**
 * The PostgreSQL client service (postgres.js), bound to one schema through search_path so
 * replay namespaces and tests each get their own tables. Migrations are idempotent DDL
 * lists owned by the modules whose tables they create; a ledger in the schema records
 * which statements have run, so a start against an existing install runs no DDL at all.
 * The layer runs the ones its process needs before anything reads a table, and ends the
 * pool when its scope closes. Does not choose which PostgreSQL: the Stores service
 * (infrastructure.ts) does.
 */
import { createHash } from "node:crypto"
import { Context, Effect, Layer } from "effect"
import postgres from "postgres"
import { ConfigService } from "./config.ts"
import { tryPostgres, type PostgresError } from "./errors.ts"
import { StoresService } from "./infrastructure.ts"

export type Sql = postgres.Sql

/**
 * How long a session may sit idle inside a transaction before PostgreSQL ends it. A process
 * paused or cut off inside a transaction (SIGSTOP, a hung host) would otherwise hold its row
 * and advisory locks for ever, and the next owner of its work (a projector taking the
 * partition over, a migration) would wait behind them. The work of the ended transaction is
 * rolled back and retried from Redis or the lake's manifest. Every transaction here is a
 * few statements and at most one small object write (the tiering's move of one period),
 * far inside a minute.
 */
export const IDLE_IN_TRANSACTION_MS = 60_000

/**
 * The session settings of every connection. `statement_timeout` (when > 0, from
 * `postgres.statement_timeout_ms`) makes the server end any statement running longer, a
 * lock wait included (a series lock held by a paused process, say): the caller gets an
 * error (57014) and retries, instead of waiting as long as the holder does. It does not
 * bound a statement whose server is paused or unreachable; the backfill worker's stall
 * bound does (src/backfill/stall.ts).
 */
const connection = (schema: string, statementTimeoutMs: number) => ({
  search_path: schema, application_name: "strata", idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {})
})

interface Recipe { readonly url: string; readonly schema: string; readonly statementTimeoutMs: number }

/** How each pool was opened, so a session of its own can be opened beside it. */
const recipes = new WeakMap<Sql, Recipe>()

/** `statementTimeoutMs`: the server-side bound of each statement (0: the server's default, usually none). */
export const openPostgres = (url: string, schema: string, max = 10, statementTimeoutMs = 0): Sql => {
  const sql = postgres(url, { max, onnotice: () => {}, connection: connection(schema, statementTimeoutMs) })
  recipes.set(sql, { url, schema, statementTimeoutMs })
  return sql
}

/** A database session of its own: one connection that is never silently replaced. */
export interface Session {
  readonly sql: Sql
  readonly end: () => Promise<void>
}

/**
 * Open a session beside `pool` (same server and schema), for session-level advisory locks
 * held across several statements, transactions and object writes.
 * Why not `pool.reserve()`: with postgres.js 3.4.9, a statement sent on a reserved
 * connection whose server process has gone (a PostgreSQL restart) never settles, and the
 * pool can hang after that connection's release. And why not a plain one-connection
 * client: it reconnects by itself, and the statements after a lost connection would run
 * without the locks the caller believes it holds. So the session ends itself when its
 * connection closes: from then on every statement fails at once (CONNECTION_ENDED), the
 * server has released the session's locks and rolled back its transaction, and the caller
 * retries from the start.
 */
export const openSession = (pool: Sql): Session => {
  const recipe = recipes.get(pool)
  if (recipe === undefined) throw new Error("openSession: the pool was not opened by openPostgres")
  const sql: Sql = postgres(recipe.url, {
    max: 1,
    onnotice: () => {},
    connection: connection(recipe.schema, recipe.statementTimeoutMs),
    onclose: () => { void sql.end({ timeout: 0 }) }
  })
  return { sql, end: () => sql.end({ timeout: 5 }) }
}

export const scopedPostgres = (url: string, schema: string, max = 10, statementTimeoutMs = 0) =>
  Effect.acquireRelease(
    Effect.sync(() => openPostgres(url, schema, max, statementTimeoutMs)),
    (sql) => Effect.promise(() => sql.end({ timeout: 5 }))
  )

const LEDGER = "strata_migrations"

/** The advisory-lock class of migrations (the second key is the schema's hash). */
const MIGRATION_LOCK = 0x5354

const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS ${LEDGER} (
  digest     text PRIMARY KEY,
  statement  text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`

const digestOf = (statement: string): string => createHash("sha256").update(statement).digest("hex")

/**
 * Create the schema if needed, then run each statement not yet in the ledger.
 * Why a ledger rather than re-running the DDL: `CREATE INDEX IF NOT EXISTS` locks its table
 * before it looks for the index, so it waits behind any open transaction that wrote the
 * table, and a paused process's projector transaction would hold a new engine's start
 * until that process resumed. Reading the ledger takes no lock that a writer holds.
 * Why a lock when there is DDL to run: two sessions running the same `CREATE … IF NOT
 * EXISTS` at once can both find nothing and both insert the catalogue row, and one fails
 * on the catalogue's unique index; so processes started together (two worker processes,
 * an engine and its workers) take turns, and the second finds the ledger complete.
 */
export const migrate = async (sql: Sql, schema: string, statements: readonly string[]): Promise<void> => {
  const digests = statements.map(digestOf)
  const pending = async (q: Sql | postgres.TransactionSql): Promise<number[]> => {
    const [ledger] = await q<{ present: boolean }[]>`SELECT to_regclass(${`"${schema}".${LEDGER}`}) IS NOT NULL AS present`
    if (ledger?.present !== true) return digests.map((_, i) => i)
    const applied = new Set(
      (await q<{ digest: string }[]>`SELECT digest FROM ${q(LEDGER)} WHERE digest = ANY(${digests})`).map((r) => r.digest)
    )
    return digests.flatMap((d, i) => (applied.has(d) ? [] : [i]))
  }
  // The common start: every statement applied, nothing locked, nothing written.
  if ((await pending(sql)).length === 0) return
  await sql.begin(async (tx) => {
    // DDL on a large install (an index on a big table) may take longer than the pools' bound.
    await tx`SET LOCAL statement_timeout = 0`
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK}, hashtext(${schema}))`
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
    await tx.unsafe(LEDGER_DDL)
    for (const i of await pending(tx)) {
      const statement = statements[i]!
      await tx.unsafe(statement)
      await tx`INSERT INTO ${tx(LEDGER)} (digest, statement) VALUES (${digests[i]!}, ${statement}) ON CONFLICT (digest) DO NOTHING`
    }
  })
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
      const sql = yield* scopedPostgres(databaseUrl, pg.schema, options.max, pg.statement_timeout_ms)
      const ddl = options.migrations ?? []
      if (ddl.length > 0) yield* tryPostgres("migrate", () => migrate(sql, pg.schema, ddl))
      return { sql, url: databaseUrl }
    }))
}
