/**
 * The engine's readiness probes for `/ready`: its shared Redis connection and its
 * PostgreSQL pool. A connection that is not up is down at once; a paused server is
 * bounded by the ops server's probe budget. Does not serve HTTP.
 */
import type { Redis } from "ioredis"
import type { Sql } from "../services/postgres.ts"

export const engineReadiness = (writes: Redis, sql: Sql) => ({
  redis: async (): Promise<boolean> => {
    if (writes.status !== "ready") throw new Error(`connection ${writes.status}`)
    return (await writes.ping()) === "PONG"
  },
  postgres: async (): Promise<boolean> => (await sql`select 1 as ok`).length === 1
})
