/**
 * Per-command progress in PostgreSQL (`backfill_progress`): planned and done tasks, rows
 * fetched and written, requests, failed attempts, deliveries, last error and status, for
 * the CLI's progress bar, `strata status` and the dashboard. Counters are informational:
 * a task repeated after a crash counts again; what is stored is decided by coverage.
 * `requests` counts every request made, failed ones included. Error text is scrubbed of
 * secret values before it is stored. Does not decide anything itself.
 */
import type { Sql } from "../services/postgres.ts"
import { redact } from "../services/secrets.ts"
import type { BackfillCommand } from "../../streams/backfill-wire.ts"

export type CommandStatus = "queued" | "running" | "done" | "shrunk" | "cancelled" | "dead"
export const FINAL_STATUSES: readonly CommandStatus[] = ["done", "shrunk", "cancelled", "dead"]

export const PROGRESS_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS backfill_progress (
     command_id      text PRIMARY KEY,
     symbol          text NOT NULL,
     layer           smallint NOT NULL,
     effective_layer smallint,
     data_types      text NOT NULL,
     at_ms           bigint NOT NULL,
     cause           text NOT NULL DEFAULT '',
     entry_id        text,
     status          text NOT NULL DEFAULT 'queued',
     planned         integer NOT NULL DEFAULT 0,
     done            integer NOT NULL DEFAULT 0,
     skipped         integer NOT NULL DEFAULT 0,
     fetched         bigint NOT NULL DEFAULT 0,
     written         bigint NOT NULL DEFAULT 0,
     hot_rows        bigint NOT NULL DEFAULT 0,
     cold_rows       bigint NOT NULL DEFAULT 0,
     objects         integer NOT NULL DEFAULT 0,
     requests        integer NOT NULL DEFAULT 0,
     failed          integer NOT NULL DEFAULT 0,
     deliveries      integer NOT NULL DEFAULT 0,
     last_error      text,
     created_at      timestamptz NOT NULL DEFAULT now(),
     started_at      timestamptz,
     finished_at     timestamptz,
     updated_at      timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX IF NOT EXISTS backfill_progress_status ON backfill_progress (status, updated_at DESC)`
]

export interface Progress {
  readonly command_id: string
  readonly symbol: string
  readonly layer: number
  readonly effective_layer: number | null
  readonly status: CommandStatus
  readonly planned: number
  readonly done: number
  readonly skipped: number
  readonly fetched: number
  readonly written: number
  readonly hot_rows: number
  readonly cold_rows: number
  readonly objects: number
  readonly requests: number
  readonly failed: number
  readonly deliveries: number
  readonly last_error: string | null
}

const COLUMNS = `command_id, symbol, layer, effective_layer, status, planned, done, skipped, fetched::float8 AS fetched,
  written::float8 AS written, hot_rows::float8 AS hot_rows, cold_rows::float8 AS cold_rows, objects, requests, failed,
  deliveries, last_error`

/** Commands known before any worker took them (the CLI registers what it issues). */
export const registerCommands = async (sql: Sql, commands: readonly BackfillCommand[]): Promise<void> => {
  for (let i = 0; i < commands.length; i += 1000) {
    const rows = commands.slice(i, i + 1000).map((c) => ({
      command_id: c.id, symbol: c.symbol, layer: c.layer, data_types: c.dataTypes.join(","), at_ms: c.at, cause: c.cause
    }))
    await sql`INSERT INTO backfill_progress ${sql(rows, "command_id", "symbol", "layer", "data_types", "at_ms", "cause")}
      ON CONFLICT (command_id) DO NOTHING`
  }
}

/** The stream entry each registered command went out as, so a command removed before any worker read it can be found. */
export const recordEntryIds = async (sql: Sql, entries: readonly (readonly [commandId: string, entryId: string])[]): Promise<void> => {
  for (let i = 0; i < entries.length; i += 1000) {
    const chunk = entries.slice(i, i + 1000)
    await sql`
      UPDATE backfill_progress p SET entry_id = v.entry_id, updated_at = now()
      FROM (SELECT unnest(${sql.array(chunk.map((e) => e[0]))}::text[]) AS command_id,
                   unnest(${sql.array(chunk.map((e) => e[1]))}::text[]) AS entry_id) v
      WHERE p.command_id = v.command_id AND p.entry_id IS NULL`
  }
}

export interface UnfinishedEntry {
  readonly command_id: string
  /** Its partition is the symbol's (streams/partition.ts): the stream its entry ID belongs to. */
  readonly symbol: string
  readonly entry_id: string
  readonly status: CommandStatus
}

/** Unfinished commands (queued or running) with their entry IDs, oldest first. */
export const unfinishedEntries = async (sql: Sql, limit: number): Promise<UnfinishedEntry[]> =>
  sql<UnfinishedEntry[]>`
    SELECT command_id, symbol, entry_id, status FROM backfill_progress WHERE status IN ('queued', 'running') AND entry_id IS NOT NULL
    ORDER BY created_at LIMIT ${limit}`

/**
 * The command is running, delivered `deliveries` times as stream entry `entryId`. A start
 * never reopens a command already finished from the same entry: that start is stale. A
 * worker's statement given up at `stall_ms` may still run once PostgreSQL answers, and a
 * worker may reclaim an entry whose first worker is still finishing it. Let such a start
 * land after the finish, and the finishing worker acknowledges the entry while the row says
 * running for ever. A finished command started from another entry (a re-driven dead letter
 * is a new entry) runs again.
 */
export const startCommand = async (sql: Sql, c: BackfillCommand, entryId: string, deliveries: number): Promise<void> => {
  await sql`
    INSERT INTO backfill_progress (command_id, symbol, layer, data_types, at_ms, cause, entry_id, status, deliveries, started_at)
    VALUES (${c.id}, ${c.symbol}, ${c.layer}, ${c.dataTypes.join(",")}, ${c.at}, ${c.cause}, ${entryId}, 'running', ${deliveries}, now())
    ON CONFLICT (command_id) DO UPDATE SET
      status = 'running', entry_id = EXCLUDED.entry_id, deliveries = EXCLUDED.deliveries,
      started_at = coalesce(backfill_progress.started_at, now()), finished_at = NULL, updated_at = now()
    WHERE NOT (backfill_progress.status IN ('done', 'shrunk', 'cancelled', 'dead')
               AND backfill_progress.entry_id IS NOT DISTINCT FROM EXCLUDED.entry_id)`
}

export const setPlanned = async (sql: Sql, id: string, planned: number, skipped: number, effectiveLayer: number): Promise<void> => {
  await sql`
    UPDATE backfill_progress SET planned = done + ${planned}, skipped = ${skipped}, effective_layer = ${effectiveLayer}, updated_at = now()
    WHERE command_id = ${id}`
}

export interface TaskOutcome {
  readonly fetched: number
  readonly hot: number
  readonly cold: number
  readonly objects: number
  readonly requests: number
}

export const taskDone = async (sql: Sql, id: string, o: TaskOutcome): Promise<void> => {
  await sql`
    UPDATE backfill_progress SET done = done + 1, fetched = fetched + ${o.fetched}, written = written + ${o.hot + o.cold},
      hot_rows = hot_rows + ${o.hot}, cold_rows = cold_rows + ${o.cold}, objects = objects + ${o.objects},
      requests = requests + ${o.requests}, updated_at = now()
    WHERE command_id = ${id}`
}

const errorText = (error: string): string => redact(error.slice(0, 2000))

/** A failed attempt, with the requests it made (they count although it failed). */
export const attemptFailed = async (sql: Sql, id: string, error: string, requests = 0): Promise<void> => {
  await sql`
    UPDATE backfill_progress SET failed = failed + 1, requests = requests + ${requests}, last_error = ${errorText(error)}, updated_at = now()
    WHERE command_id = ${id}`
}

export const finishCommand = async (sql: Sql, id: string, status: CommandStatus, error?: string): Promise<void> => {
  await sql`
    UPDATE backfill_progress SET status = ${status}, finished_at = now(), updated_at = now(),
      last_error = coalesce(${error === undefined ? null : errorText(error)}, last_error)
    WHERE command_id = ${id}`
}

/**
 * The unfinished command whose stream entry was removed (trimmed or deleted) goes dead
 * with `error`; returns it, or undefined when no unfinished command had that entry. Entry
 * IDs are unique within one stream only, so `ofStream` tells, by the command's symbol,
 * whether a command went out on the stream the entry left. The condition makes one caller
 * win when several notice the same entry.
 */
export const entryRemoved = async (
  sql: Sql, entryId: string, error: string, ofStream: (symbol: string) => boolean = () => true
): Promise<{ command_id: string; deliveries: number } | undefined> => {
  const candidates = await sql<{ command_id: string; symbol: string }[]>`
    SELECT command_id, symbol FROM backfill_progress
    WHERE entry_id = ${entryId} AND status NOT IN ('done', 'shrunk', 'cancelled', 'dead') ORDER BY created_at`
  for (const c of candidates) {
    if (!ofStream(c.symbol)) continue
    const rows = await sql<{ command_id: string; deliveries: number }[]>`
      UPDATE backfill_progress SET status = 'dead', last_error = ${errorText(error)}, finished_at = now(), updated_at = now()
      WHERE command_id = ${c.command_id} AND status NOT IN ('done', 'shrunk', 'cancelled', 'dead')
      RETURNING command_id, deliveries`
    if (rows[0]) return rows[0]
  }
  return undefined
}

export const lastError = async (sql: Sql, id: string): Promise<string | undefined> => {
  const rows = await sql<{ last_error: string | null }[]>`SELECT last_error FROM backfill_progress WHERE command_id = ${id}`
  return rows[0]?.last_error ?? undefined
}

export const progressOf = async (sql: Sql, ids: readonly string[]): Promise<Progress[]> =>
  ids.length === 0 ? [] : (await sql.unsafe(`SELECT ${COLUMNS} FROM backfill_progress WHERE command_id = ANY($1) ORDER BY command_id`, [ids as string[]])) as unknown as Progress[]

/** Unfinished commands first, then the most recently updated. */
export const recentProgress = async (sql: Sql, limit: number): Promise<Progress[]> =>
  (await sql.unsafe(
    `SELECT ${COLUMNS} FROM backfill_progress
     ORDER BY (status IN ('done', 'shrunk', 'cancelled', 'dead')), updated_at DESC LIMIT $1`, [limit]
  )) as unknown as Progress[]

export const progressTotals = async (sql: Sql): Promise<Record<string, number>> => {
  const rows = await sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM backfill_progress GROUP BY status`
  return Object.fromEntries(rows.map((r) => [r.status, r.n]))
}
