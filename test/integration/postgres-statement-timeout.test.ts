/**
 * The server-side statement bound of the services' pools (`postgres.statement_timeout_ms`):
 * a statement running longer is ended by PostgreSQL with 57014, on the pool and on a
 * session opened beside it; migrations are not bounded (DDL on a large install may take
 * long).
 */
import { randomBytes } from "node:crypto"
import { afterAll, describe, expect, it, inject } from "vitest"
import { migrate, openPostgres, openSession } from "../../src/services/postgres.ts"

const schema = `t_${randomBytes(5).toString("hex")}`
const BOUND_MS = 300

describe("statement_timeout of the pools", () => {
  const sql = openPostgres(inject("databaseUrl"), schema, 2, BOUND_MS)
  afterAll(async () => {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await sql.end({ timeout: 2 })
  })

  it("ends a statement that runs past the bound, on the pool and on a session beside it", async () => {
    await expect(sql`SELECT pg_sleep(3)`).rejects.toMatchObject({ code: "57014" })
    const session = openSession(sql)
    try {
      await expect(session.sql`SELECT pg_sleep(3)`).rejects.toMatchObject({ code: "57014" })
    } finally {
      await session.end()
    }
    // Inside the bound, nothing changes.
    expect((await sql`SELECT 1 AS one`)[0]?.["one"]).toBe(1)
  })

  it("leaves migrations unbounded", async () => {
    await migrate(sql, schema, ["DO $$ BEGIN PERFORM pg_sleep(1); END $$"])
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${sql(schema)}.strata_migrations`
    expect(row?.n).toBe(1)
  })
})
