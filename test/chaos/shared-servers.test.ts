/**
 * Private servers shared by two Strata processes on one data folder: `strata workers`
 * starts the private redis-server and PostgreSQL, `strata engine` reuses them; stopping
 * the workers leaves both running for the engine, which keeps applying entries and stays
 * ready; stopping the engine, the last user, stops both servers.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { openRedis } from "../../src/services/redis.ts"
import { waitUntil } from "../helpers/engine.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))

/** The embedded default uses whatever answers on 6379; then no private Redis is started. */
const defaultRedisAnswers = spawnSync("redis-cli", ["-p", "6379", "ping"], { encoding: "utf8", timeout: 5_000 }).stdout?.trim() === "PONG"

interface Proc { readonly child: ChildProcess; readonly output: () => string; readonly exited: Promise<number | null> }

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("private servers shared by two processes", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-shared-"))
  chmodSync(dir, 0o755)
  const procs: Proc[] = []
  const { REDIS_URL: _r, DATABASE_URL: _d, STRATA_CONFIG: _c, ...baseEnv } = process.env
  const env = { ...baseEnv, STRATA_DATA_DIR: dir, STRATA_PREFIX: "shared", STRATA_HTTP_PORT: "0", LOG_LEVEL: "info", NODE_NO_WARNINGS: "1" }
  const run = (command: string): Proc => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, command], { env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout?.on("data", (d: Buffer) => { out += d.toString() })
    child.stderr?.on("data", (d: Buffer) => { out += d.toString() })
    const p = { child, output: () => out, exited: new Promise<number | null>((r) => child.on("exit", (code) => r(code))) }
    procs.push(p)
    return p
  }
  const redisState = () => JSON.parse(readFileSync(join(dir, "redis", "server.json"), "utf8")) as { port: number; pid: number }
  const postmaster = () => Number(readFileSync(join(dir, "pg", "data", "postmaster.pid"), "utf8").split("\n")[0])

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL")
    // Whatever a failed run left behind.
    if (existsSync(join(dir, "redis", "server.json")) && isAlive(redisState().pid)) process.kill(redisState().pid, "SIGKILL")
    if (existsSync(join(dir, "pg", "data", "postmaster.pid")) && isAlive(postmaster())) process.kill(postmaster(), "SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  })

  it.skipIf(defaultRedisAnswers)("keeps them up while any process uses them; the last one out stops them", async () => {
    const workers = run("workers")
    await waitUntil("the workers to start the private servers", () =>
      workers.child.exitCode === null && /private redis-server running/.test(workers.output()) && /private PostgreSQL running/.test(workers.output()) &&
      workers.output().includes("\"msg\":\"backfill workers running\""), 120_000)
      .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${workers.output().slice(-2000)}`) })
    const engine = run("engine")
    await waitUntil("the engine to run on the same servers", () => engine.child.exitCode === null && engine.output().includes('"msg":"engine running"'), 120_000)
      .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${engine.output().slice(-2000)}`) })
    expect(engine.output()).toMatch(/private redis-server reused/)
    expect(engine.output()).toMatch(/private cluster reused/)
    const httpPort = Number(/"http":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(engine.output())?.[1])
    const redisPid = redisState().pid
    const pgPid = postmaster()

    workers.child.kill("SIGTERM")
    expect(await workers.exited).toBe(0)
    expect(isAlive(redisPid)).toBe(true)
    expect(isAlive(pgPid)).toBe(true)
    expect(workers.output()).toMatch(/private redis-server left running for the other Strata processes/)
    expect(workers.output()).toMatch(/private PostgreSQL left running for the other Strata processes/)

    // The engine still works on both.
    const redis = openRedis(`redis://127.0.0.1:${redisState().port}`, "shared-test")
    try {
      const stats = partitionKeys("shared", 0).stats
      const before = Number((await redis.hget(stats, "entries")) ?? 0)
      await redis.xadd(ingressKeys("shared").scores, "*", "symbol", "AAPL", "liquidity", "0.9", "ts", String(Date.UTC(2026, 0, 5, 15)))
      await waitUntil("the engine to apply an entry", async () => Number((await redis.hget(stats, "entries")) ?? 0) > before, 60_000)
    } finally {
      redis.disconnect()
    }
    await waitUntil("the engine to be ready", async () =>
      (await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(10_000) })).status === 200, 60_000)

    engine.child.kill("SIGTERM")
    expect(await engine.exited).toBe(0)
    expect(engine.output()).toMatch(/private redis-server stopped \(no other Strata process uses it\)/)
    expect(engine.output()).toMatch(/private PostgreSQL stopped \(no other Strata process uses it\)/)
    await waitUntil("both servers to be gone", () => !isAlive(redisPid) && !isAlive(pgPid), 60_000)
  }, 400_000)
})
