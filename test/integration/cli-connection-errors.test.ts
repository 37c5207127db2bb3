/**
 * One-shot commands against stores that refuse them: a redis-server with `requirepass`
 * (no password, then a wrong one), a PostgreSQL role whose password is wrong, an S3
 * endpoint on a closed port. Each prints one line on stderr naming the store and the
 * setting to fix, exits 3, prints no stack trace, and never prints the secret.
 */
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, redisServerBinary, startPostgres, type PrivateServer } from "../../src/services/private-servers.ts"
import { openPostgres } from "../../src/services/postgres.ts"
import { waitUntil } from "../helpers/engine.ts"
import { writeConfigFile } from "../helpers/backfill-fixture.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))
const REDIS_SECRET = "redis-Secret-4711"
const PG_SECRET = "pg-Secret-0815"

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

const strata = (args: string[], env: NodeJS.ProcessEnv): Promise<Run> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString() })
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString() })
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

/** One line, exit 3, no stack trace, no secret; the line must match `line`. */
const expectOneLine = (r: Run, line: RegExp) => {
  const lines = r.stderr.split("\n").filter(Boolean)
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(line)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  expect(r.stderr + r.stdout).not.toContain(REDIS_SECRET)
  expect(r.stderr + r.stdout).not.toContain(PG_SECRET)
  expect(r.code).toBe(3)
}

describe("CLI connection errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-clierr-"))
  chmodSync(dir, 0o755)
  let ns: TestNamespace
  let redisPid: number | undefined
  let redisPort = 0
  let pg: PrivateServer | undefined

  beforeAll(async () => {
    ns = await testNamespace()
    // A redis-server that wants a password.
    redisPort = await freePort()
    const child = spawn(redisServerBinary(), [
      "--port", String(redisPort), "--bind", "127.0.0.1", "--requirepass", REDIS_SECRET, "--save", "", "--appendonly", "no", "--dir", dir
    ], { stdio: "ignore", detached: true })
    child.unref()
    redisPid = child.pid
    await waitUntil("the password-protected redis-server", () =>
      spawnSync("redis-cli", ["-p", String(redisPort), "-a", REDIS_SECRET, "--no-auth-warning", "ping"], { encoding: "utf8" }).stdout.trim() === "PONG")
    // A PostgreSQL cluster where one role must give its password (scram), not trusted.
    pg = await startPostgres(join(dir, "pg"))
    const admin = openPostgres(pg.url, "public", 1)
    await admin.unsafe(`CREATE ROLE strata_pw LOGIN PASSWORD '${PG_SECRET}'`)
    const hba = join(dir, "pg", "data", "pg_hba.conf")
    writeFileSync(hba, `host all strata_pw 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, "utf8")}`)
    await admin`SELECT pg_reload_conf()`
    await admin.end({ timeout: 2 })
  }, 120_000)
  afterAll(async () => {
    if (redisPid !== undefined) process.kill(redisPid, "SIGTERM")
    await pg?.stop()
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }, 120_000)

  it("reports a Redis that wants a password, and one that refuses it, as such", async () => {
    const noPassword = await strata(["status"], { ...ns.env, REDIS_URL: `redis://127.0.0.1:${redisPort}` })
    expectOneLine(noPassword, /^strata status: Redis at redis:\/\/127\.0\.0\.1:\d+ requires a password \(NOAUTH\).*REDIS_URL or redis\.url/)
    const wrong = await strata(["reconcile"], { ...ns.env, REDIS_URL: `redis://:${REDIS_SECRET}x@127.0.0.1:${redisPort}` })
    expectOneLine(wrong, /^strata reconcile: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the credentials \(WRONGPASS\).*REDIS_URL or redis\.url/)
  }, 120_000)

  it("reports a wrong PostgreSQL password as refused credentials", async () => {
    const url = `postgres://strata_pw:${PG_SECRET}x@127.0.0.1:${pg!.port}/postgres`
    const r = await strata(["status"], { ...ns.env, DATABASE_URL: url })
    expectOneLine(r, /^strata status: PostgreSQL at postgres:\/\/strata_pw:\*\*\*@127\.0\.0\.1:\d+\/postgres refused the credentials \(28P01 .*\).*DATABASE_URL or postgres\.url/)
  }, 120_000)

  it("reports an S3 endpoint that does not answer, for query and tier --now", async () => {
    const closed = await freePort()
    const configFile = writeConfigFile(dir, { storage: { s3: { bucket: "lake", endpoint: `http://127.0.0.1:${closed}`, force_path_style: true } } })
    const env = { ...ns.env, STRATA_CONFIG: configFile, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_MAX_ATTEMPTS: "1" }
    const query = await strata(["query", "bars", "--symbol", "AAPL", "--interval", "1day", "--from", "2020-01-01", "--to", "2026-01-01"], env)
    expectOneLine(query, new RegExp(`^strata query: S3 endpoint http://127\\.0\\.0\\.1:${closed} for bucket "lake" does not answer \\(ECONNREFUSED\\): set storage\\.s3\\.endpoint`))
    const tier = await strata(["tier", "--now"], env)
    expectOneLine(tier, /^strata tier: S3 endpoint .* does not answer \(ECONNREFUSED\)/)
  }, 120_000)

  it("prints the stack only when asked for", async () => {
    const r = await strata(["status", "--verbose"], { ...ns.env, REDIS_URL: `redis://127.0.0.1:${redisPort}` })
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/^strata status: Redis .* requires a password/)
    expect(r.stderr).toMatch(/\n\s+at /)
  }, 120_000)
})
