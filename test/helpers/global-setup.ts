/**
 * Starts one private redis-server and one private PostgreSQL cluster for the whole test
 * run, on free loopback ports in a temporary folder, and stops them by pid afterwards.
 * Tests reach them through `inject("redisUrl")` / `inject("databaseUrl")` and isolate
 * themselves with a fresh key prefix and schema (test/helpers/namespace.ts).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { startPostgres, startRedis } from "../../src/services/private-servers.ts"

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string
    databaseUrl: string
    serversDir: string
  }
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "strata-test-"))
  // The postgres user must reach its data folder below this one.
  chmodSync(dir, 0o755)
  const [redis, pg] = await Promise.all([startRedis(join(dir, "redis")), startPostgres(join(dir, "pg"))])
  project.provide("redisUrl", redis.url)
  project.provide("databaseUrl", pg.url)
  project.provide("serversDir", dir)
  return async () => {
    await Promise.all([redis.stop(), pg.stop()])
    rmSync(dir, { recursive: true, force: true })
  }
}
