/**
 * The healing ledger (`heal_sessions` in PostgreSQL): per series and trading session, how
 * often healing fetched it and what the provider answered. A session the provider answered
 * with no rows twice is `empty` (with fewer rows than the session holds, twice: `short`);
 * one whose fetches failed `heal.max_attempts` times is `exhausted`. Recorded sessions
 * (`empty`, `short`) are no gaps; healing fetches none of `empty`, `short` or `exhausted`
 * again. A session that heals leaves the ledger.
 * Does not fetch or count: heal.ts does.
 */
import type { Sql } from "../services/postgres.ts"
import { redact } from "../services/secrets.ts"

export type SessionStatus = "open" | "empty" | "short" | "exhausted"

/** Statuses `strata gaps` does not list: the provider confirmed the session holds no more. */
export const RECORDED: readonly SessionStatus[] = ["empty", "short"]
/** Answers of fewer rows than owed after which a session is recorded. */
export const CONFIRMATIONS = 2

export const HEAL_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS heal_sessions (
     kind        text NOT NULL,
     symbol      text NOT NULL,
     interval    text NOT NULL DEFAULT '',
     session_day bigint NOT NULL,
     session     text NOT NULL,
     status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'empty', 'short', 'exhausted')),
     attempts    integer NOT NULL DEFAULT 0,
     short_answers integer NOT NULL DEFAULT 0,
     expected    integer NOT NULL DEFAULT 0,
     last_rows   integer,
     reason      text,
     updated_at  timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (kind, symbol, interval, session_day)
   )`
]

export interface LedgerRow {
  readonly symbol: string
  readonly interval: string
  readonly session_day: number
  readonly session: string
  readonly status: SessionStatus
  readonly attempts: number
  readonly short_answers: number
  readonly reason: string | null
}

export const ledgerKey = (symbol: string, interval: string, day: number): string => `${symbol}|${interval}|${day}`

/** Ledger rows of bars for these symbols, by ledgerKey (one query per 1,000 symbols). */
export const ledgerOf = async (sql: Sql, symbols: readonly string[], stats: { sqlQueries: number }): Promise<Map<string, LedgerRow>> => {
  const out = new Map<string, LedgerRow>()
  for (let i = 0; i < symbols.length; i += 1000) {
    stats.sqlQueries++
    const rows = await sql<LedgerRow[]>`
      SELECT symbol, interval, session_day::float8 AS session_day, session, status, attempts, short_answers, reason
      FROM heal_sessions WHERE kind = 'bars' AND symbol = ANY(${symbols.slice(i, i + 1000) as string[]})`
    for (const r of rows) out.set(ledgerKey(r.symbol, r.interval, r.session_day), r)
  }
  return out
}

export interface Attempt {
  readonly symbol: string
  readonly interval: string
  readonly day: number
  readonly session: string
  readonly expected: number
}

/**
 * Record one healing fetch of a session. `rows` is what the provider answered (undefined
 * when the fetch failed, with `error`). Returns the session's status after it.
 */
export const recordAttempt = async (
  sql: Sql, a: Attempt, answer: { rows: number } | { error: string }, maxAttempts: number
): Promise<SessionStatus | "healed"> => {
  if ("rows" in answer && answer.rows >= a.expected) {
    await sql`DELETE FROM heal_sessions WHERE kind = 'bars' AND symbol = ${a.symbol} AND interval = ${a.interval} AND session_day = ${a.day}`
    return "healed"
  }
  const short = "rows" in answer ? 1 : 0
  const reason = "rows" in answer
    ? (answer.rows === 0 ? "the provider returned no bars for this session" : `the provider returned ${answer.rows} of ${a.expected} bars`)
    : redact(`fetch failed: ${answer.error}`.slice(0, 500))
  const lastRows = "rows" in answer ? answer.rows : null
  // The status follows from the counters after this attempt, in the same statement.
  const status = (attempts: string, shorts: string, rows: string) => `CASE
      WHEN ${shorts} >= ${CONFIRMATIONS} AND coalesce(${rows}, 0) = 0 THEN 'empty'
      WHEN ${shorts} >= ${CONFIRMATIONS} THEN 'short'
      WHEN ${attempts} >= ${maxAttempts} THEN 'exhausted'
      ELSE 'open' END`
  const [after] = await sql.unsafe(`
    INSERT INTO heal_sessions (kind, symbol, interval, session_day, session, attempts, short_answers, expected, last_rows, reason, status)
    VALUES ('bars', $1, $2, $3, $4, 1, $5::int, $6, $7::int, $8, ${status("1", "$5::int", "$7::int")})
    ON CONFLICT (kind, symbol, interval, session_day) DO UPDATE SET
      attempts = heal_sessions.attempts + 1,
      short_answers = heal_sessions.short_answers + $5::int,
      expected = EXCLUDED.expected,
      last_rows = coalesce(EXCLUDED.last_rows, heal_sessions.last_rows),
      reason = EXCLUDED.reason, updated_at = now(),
      status = ${status("heal_sessions.attempts + 1", "heal_sessions.short_answers + $5::int", "coalesce(EXCLUDED.last_rows, heal_sessions.last_rows)")}
    RETURNING status`, [a.symbol, a.interval, a.day, a.session, short, a.expected, lastRows, reason]) as unknown as { status: SessionStatus }[]
  return after?.status ?? "open"
}
