/**
 * Named exclusive locks that hold across processes: PostgreSQL session advisory locks on
 * a reserved connection. A process that dies releases its locks with its connection, so a
 * crash never leaves an object locked.
 * Does not queue or time out: a waiter waits as long as the holder holds.
 */
import type { Sql } from "../services/postgres.ts"
import type { Lock } from "./cold-commit.ts"

export const advisoryLock = (sql: Sql): Lock => async (name, fn) => {
  const conn = await sql.reserve()
  try {
    await conn`SELECT pg_advisory_lock(hashtext(${name}))`
    try {
      return await fn()
    } finally {
      await conn`SELECT pg_advisory_unlock(hashtext(${name}))`
    }
  } finally {
    conn.release()
  }
}
