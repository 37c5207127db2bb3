/**
 * Private redis-server and PostgreSQL 15 instances on free loopback ports, for the
 * embedded defaults of `npm run engine` and for the test harness. Each instance keeps its
 * data in a folder of its own and is stopped by its own pid. When a binary is missing the
 * error names the exact command that installs it.
 * Does not decide whether a private server is needed: the callers do.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { pollUntil } from "./poll.ts"

export class MissingBinaryError extends Error {
  override readonly name = "MissingBinaryError"
  constructor(readonly binary: string, readonly install: string) {
    super(`${binary} not found; install it with: ${install}`)
  }
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))))
    })
  })

const which = (bin: string): string | undefined => {
  const r = spawnSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" })
  const out = (r.stdout ?? "").trim()
  return r.status === 0 && out ? out : undefined
}

/** Whether a process with this pid exists (EPERM: it does, but belongs to another user). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

export interface PrivateServer {
  readonly url: string
  readonly port: number
  readonly pid: number
  /** True when an instance already running in the folder was reused rather than started. */
  readonly reused: boolean
  /**
   * Stop the server. PostgreSQL's "immediate" mode drops every connection without a
   * shutdown checkpoint (crash recovery on the next start), as a crash would.
   */
  readonly stop: (mode?: "fast" | "immediate") => Promise<void>
}

// ---------------------------------------------------------------- redis-server

export const redisServerBinary = (): string => {
  const bin = which("redis-server")
  if (!bin) throw new MissingBinaryError("redis-server", "apt-get update && apt-get install -y redis-server")
  return bin
}

const redisPing = (port: number): boolean =>
  spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8", timeout: 2000 }).stdout?.trim() === "PONG"

/**
 * Start (or reuse, when its pid file names a live one) a private redis-server whose data,
 * with AOF on, lives in `dir`.
 */
export const startRedis = async (dir: string, options: { reuse?: boolean; port?: number } = {}): Promise<PrivateServer> => {
  const bin = redisServerBinary()
  mkdirSync(dir, { recursive: true })
  const stateFile = join(dir, "server.json")
  if (options.reuse && existsSync(stateFile)) {
    const prev = JSON.parse(readFileSync(stateFile, "utf8")) as { port: number; pid: number }
    if (isAlive(prev.pid) && redisPing(prev.port)) {
      return { url: `redis://127.0.0.1:${prev.port}`, port: prev.port, pid: prev.pid, reused: true, stop: () => stopPid(prev.pid) }
    }
  }
  const port = options.port ?? (await freePort())
  const child = spawn(bin, [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
    "--daemonize", "no", "--logfile", join(dir, "redis.log")
  ], { detached: true, stdio: "ignore" })
  child.unref()
  const pid = child.pid
  if (pid === undefined) throw new Error("redis-server did not start")
  await pollUntil(`redis-server on port ${port}`, () => redisPing(port), 15_000)
  writeFileSync(stateFile, JSON.stringify({ port, pid }))
  return { url: `redis://127.0.0.1:${port}`, port, pid, reused: false, stop: () => stopPid(pid) }
}

const stopPid = async (pid: number): Promise<void> => {
  if (!isAlive(pid)) return
  process.kill(pid, "SIGTERM")
  await pollUntil(`pid ${pid} to exit`, () => !isAlive(pid), 15_000).catch(() => {
    if (isAlive(pid)) process.kill(pid, "SIGKILL")
  })
}

// ---------------------------------------------------------------- PostgreSQL

export const postgresBinDir = (): string => {
  const candidates: string[] = []
  const pgConfig = which("pg_config")
  if (pgConfig) {
    try {
      candidates.push(execFileSync(pgConfig, ["--bindir"], { encoding: "utf8" }).trim())
    } catch { /* fall through to the usual places */ }
  }
  for (const v of ["17", "16", "15"]) candidates.push(`/usr/lib/postgresql/${v}/bin`)
  const dir = candidates.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl")))
  if (!dir) throw new MissingBinaryError("PostgreSQL server (initdb, pg_ctl)", "apt-get update && apt-get install -y postgresql-15")
  return dir
}

const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0

/** Run a PostgreSQL binary; as root, as the `postgres` user (initdb refuses root). */
const runPg = (bin: string, args: string[]): void => {
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args]
  const r = spawnSync(cmd, argv, { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`)
}

const postmasterPid = (dataDir: string): number | undefined => {
  const f = join(dataDir, "postmaster.pid")
  if (!existsSync(f)) return undefined
  const pid = Number(readFileSync(f, "utf8").split("\n")[0])
  return Number.isInteger(pid) && isAlive(pid) ? pid : undefined
}

/**
 * Start (or reuse) a private PostgreSQL cluster in `dir` listening on 127.0.0.1 only,
 * trust authentication for the `postgres` user.
 */
export const startPostgres = async (dir: string, options: { reuse?: boolean; port?: number } = {}): Promise<PrivateServer> => {
  const binDir = postgresBinDir()
  const dataDir = join(dir, "data")
  mkdirSync(dir, { recursive: true })
  if (isRoot()) {
    const pw = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" })
    if (pw.status !== 0) throw new MissingBinaryError("the postgres user", "apt-get update && apt-get install -y postgresql-15")
    const uid = Number(pw.stdout.trim())
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim())
    chownSync(dir, uid, gid)
  }
  const stateFile = join(dir, "server.json")
  if (options.reuse && existsSync(stateFile)) {
    const prev = JSON.parse(readFileSync(stateFile, "utf8")) as { port: number }
    const pid = postmasterPid(dataDir)
    if (pid !== undefined) return pgHandle(binDir, dataDir, prev.port, pid, true)
  }
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    runPg(join(binDir, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"])
  }
  const port = options.port ?? (await freePort())
  runPg(join(binDir, "pg_ctl"), [
    "-D", dataDir, "-l", join(dir, "postgres.log"), "-w", "-t", "60",
    "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    "start"
  ])
  const pid = postmasterPid(dataDir)
  if (pid === undefined) throw new Error(`PostgreSQL did not start; see ${join(dir, "postgres.log")}`)
  // The state file is written as root; pg reads nothing from it.
  writeFileSync(stateFile, JSON.stringify({ port, pid }))
  return pgHandle(binDir, dataDir, port, pid, false)
}

const pgHandle = (binDir: string, dataDir: string, port: number, pid: number, reused: boolean): PrivateServer => ({
  url: `postgres://postgres@127.0.0.1:${port}/postgres`,
  port,
  pid,
  reused,
  stop: async (mode = "fast") => {
    if (postmasterPid(dataDir) === undefined) return
    try {
      runPg(join(binDir, "pg_ctl"), ["-D", dataDir, "-m", mode, "-w", "stop"])
    } catch {
      await stopPid(pid)
    }
  }
})
