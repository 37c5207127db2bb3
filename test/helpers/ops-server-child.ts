/**
 * A real ops server in a process of its own, for tests that must see whether a request
 * kills the process: the engine's HTTP port (health, readiness, metrics) with the
 * `/api/bars` route over the namespace's PostgreSQL schema and lake, and a route that
 * throws. Prints `listening <port>` once it answers.
 * Environment: DATABASE_URL, STRATA_PG_SCHEMA, STRATA_DATA_DIR (as test/helpers/namespace.ts sets them).
 */
import { join } from "node:path"
import { Registry } from "prom-client"
import { apiBarsHandler } from "../../src/http/api-bars.ts"
import { startOpsServer } from "../../src/http/ops-server.ts"
import { createLogger } from "../../src/services/logger.ts"
import { migrate, openPostgres } from "../../src/services/postgres.ts"
import { STORAGE_DDL, localObjectStore } from "../../src/storage/index.ts"

const env = (name: string) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set`)
  return v
}

const schema = env("STRATA_PG_SCHEMA")
const sql = openPostgres(env("DATABASE_URL"), schema, 2)
await migrate(sql, schema, STORAGE_DDL)
const store = localObjectStore(join(env("STRATA_DATA_DIR"), "lake"))
const server = await startOpsServer({
  host: "127.0.0.1",
  port: 0,
  registry: new Registry(),
  readiness: { postgres: async () => (await sql`select 1 as ok`).length === 1 },
  log: createLogger("ops-server-child"),
  routes: {
    "/api/bars": apiBarsHandler({ sql, store }),
    "/boom": () => { throw new Error("a route that throws") }
  }
})
process.stdout.write(`listening ${server.port}\n`)
