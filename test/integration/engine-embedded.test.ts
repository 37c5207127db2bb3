/**
 * `strata engine` on embedded defaults, as a real process: with no REDIS_URL and no
 * DATABASE_URL it starts a private redis-server and PostgreSQL under its data folder,
 * applies what redis-cli writes, and on SIGTERM exits 0 and stops both servers. Without
 * redis-server on the PATH it stops with the command that installs it.
 */
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { waitUntil } from "../helpers/engine.ts"
import { isAlive } from "../helpers/processes.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" }
  for (const k of ["REDIS_URL", "DATABASE_URL", "STRATA_PREFIX", "STRATA_PG_SCHEMA", "STRATA_CONFIG"]) delete env[k]
  return env
}

describe("engine on embedded defaults", () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const configIn = (d: string): string => {
    const file = join(d, "strata.yaml")
    // A Redis URL nothing answers on stands for "no local Redis": the engine must start its own.
    // Backfill workers are left out: this test is about the embedded servers.
    writeFileSync(file, `data_dir: ${join(d, "data")}\nbackfill:\n  enabled: false\nhttp:\n  port: 0\nredis:\n  url: redis://127.0.0.1:6379\n  prefix: embedded\n`)
    return file
  }

  it("starts private servers, applies scores, and stops everything on SIGTERM", async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-embedded-"))
    chmodSync(dir, 0o755)
    const probe = spawnSync("redis-cli", ["-p", "6379", "ping"], { encoding: "utf8" })
    if (probe.stdout?.trim() === "PONG") {
      // A Redis on the default port is used as is (by design); the private-server path is then not reachable here.
      console.warn("a Redis answers on 127.0.0.1:6379; the engine would use it, so this run checks that path")
    }
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "engine", "--config", configIn(dir)], { cwd: ROOT, env: baseEnv(), stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (out += d))
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    await waitUntil("engine running", () => out.includes("engine running"), 90_000)
    const redisState = join(dir, "data", "redis", "server.json")
    const usedPrivateRedis = existsSync(redisState)
    const port = usedPrivateRedis ? (JSON.parse(readFileSync(redisState, "utf8")) as { port: number }).port : 6379
    const cli = (...args: string[]) => spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" }).stdout.trim()
    cli("XADD", "embedded:scores", "*", "symbol", "AAPL", "liquidity", "0.91")
    cli("XADD", "embedded:scores", "*", "symbol", "AAPL", "liquidity", "0.92")
    await waitUntil("lifecycle event", () => cli("XLEN", "embedded:{0}:lifecycle") === "1")
    expect(cli("XRANGE", "embedded:{0}:lifecycle", "-", "+")).toContain("SymbolQualified")
    const pgPid = Number(readFileSync(join(dir, "data", "pg", "data", "postmaster.pid"), "utf8").split("\n")[0])
    const redisPid = usedPrivateRedis ? (JSON.parse(readFileSync(redisState, "utf8")) as { pid: number }).pid : undefined
    expect(isAlive(pgPid)).toBe(true)

    // A one-shot command beside the running engine reuses its servers and leaves them running.
    const reconcile = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "reconcile", "--wait", "--config", join(dir, "strata.yaml")], { cwd: ROOT, env: baseEnv(), encoding: "utf8", timeout: 60_000 })
    expect(reconcile.status, reconcile.stderr).toBe(0)
    expect(reconcile.stdout).toContain("divergent: 0")
    expect(isAlive(pgPid)).toBe(true)
    if (redisPid !== undefined) expect(isAlive(redisPid)).toBe(true)
    cli("XADD", "embedded:scores", "*", "symbol", "MSFT", "liquidity", "0.91")
    cli("XADD", "embedded:scores", "*", "symbol", "MSFT", "liquidity", "0.92")
    await waitUntil("the engine still applying", () => cli("XLEN", "embedded:{0}:lifecycle") === "2")

    child.kill("SIGTERM")
    expect(await exit).toBe(0)
    expect(out).toContain("stopped")
    expect(isAlive(pgPid), out).toBe(false)
    if (redisPid !== undefined) expect(isAlive(redisPid)).toBe(false)
  }, 120_000)

  it("names the install command when redis-server is missing", () => {
    dir = mkdtempSync(join(tmpdir(), "strata-embedded-"))
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "engine", "--config", configIn(dir)], {
      cwd: ROOT, env: { ...baseEnv(), PATH: join(dir, "empty-path") }, encoding: "utf8", timeout: 60_000
    })
    if (spawnSync("redis-cli", ["-p", "6379", "ping"], { encoding: "utf8" }).stdout?.trim() === "PONG") return
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain("apt-get install -y redis-server")
  }, 60_000)
})
