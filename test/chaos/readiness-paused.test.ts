/**
 * `/readyz` and `/metrics` under a paused dependency: a private redis-server, then a
 * private PostgreSQL (the postmaster and every backend), is stopped with SIGSTOP under a
 * running engine. Readiness answers 503 naming the paused store, metrics answer with
 * what they can, and both come back to normal after SIGCONT. The client waits up to
 * 10 s for an answer, far beyond the server's own 1 s budget, so a loaded machine does
 * not decide the outcome; only a server that waits on the paused store fails.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { startPostgres, startRedis, type PrivateServer } from "../../src/services/private-servers.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY } from "../helpers/namespace.ts"

const CLIENT_TIMEOUT_MS = 10_000

const get = async (port: number, path: string): Promise<{ status: number; text: string }> => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) })
  return { status: res.status, text: await res.text() }
}

/** The postmaster and its children (backends, checkpointer, …). */
const clusterPids = (postmaster: number): number[] => {
  const children = spawnSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).map(Number)
  return [postmaster, ...children]
}

const signal = (pids: readonly number[], sig: NodeJS.Signals) => {
  for (const pid of pids) process.kill(pid, sig)
}

describe("readiness while a store is paused", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-paused-"))
  chmodSync(dir, 0o755)
  let redis: PrivateServer | undefined
  let pg: PrivateServer | undefined
  let engine: RunningEngine | undefined
  const paused: number[] = []
  afterAll(async () => {
    signal(paused.splice(0), "SIGCONT")
    await engine?.stop()
    await redis?.stop()
    await pg?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("answers 503 naming the paused store, and metrics with what they can", async () => {
    ;[redis, pg] = await Promise.all([startRedis(join(dir, "redis")), startPostgres(join(dir, "pg"))])
    const config = loadConfig({
      env: {},
      overrides: { ...ENGINE_ONLY, http: { port: 0 }, data_dir: dir, redis: { url: redis.url, prefix: "paused" }, postgres: { url: pg.url, schema: "paused" } }
    })
    engine = await runEngine(config)
    const port = engine.handles.httpPort
    await waitUntil("ready", async () => (await get(port, "/readyz")).status === 200)

    // Redis paused.
    paused.push(redis.pid)
    signal([redis.pid], "SIGSTOP")
    const redisDown = await get(port, "/readyz")
    expect(redisDown.status).toBe(503)
    const redisBody = JSON.parse(redisDown.text) as { checks: Record<string, boolean>; down: Record<string, string> }
    expect(redisBody.checks).toEqual({ redis: false, postgres: true })
    expect(Object.keys(redisBody.down)).toEqual(["redis"])
    // A second probe while the first still waits on the paused server answers too.
    expect((await get(port, "/readyz")).status).toBe(503)
    const metrics = await get(port, "/metrics")
    expect(metrics.status).toBe(200)
    expect(metrics.text).toContain("strata_ingest_entries_total")
    expect(metrics.text).toMatch(/not collected within \d+ ms: .*strata_group_backlog/)
    signal(paused.splice(0), "SIGCONT")
    await waitUntil("ready after Redis resumed", async () => (await get(port, "/readyz")).status === 200)

    // PostgreSQL paused: the postmaster and every backend.
    const pids = clusterPids(pg.pid)
    paused.push(...pids)
    signal(pids, "SIGSTOP")
    const pgDown = await get(port, "/readyz")
    expect(pgDown.status).toBe(503)
    const pgBody = JSON.parse(pgDown.text) as { checks: Record<string, boolean>; down: Record<string, string> }
    expect(pgBody.checks).toEqual({ redis: true, postgres: false })
    expect(pgBody.down["postgres"]).toMatch(/no answer within/)
    expect((await get(port, "/metrics")).status).toBe(200)
    signal(paused.splice(0), "SIGCONT")
    await waitUntil("ready after PostgreSQL resumed", async () => (await get(port, "/readyz")).status === 200)
  }, 120_000)
})
