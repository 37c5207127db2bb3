/**
 * Private redis-server and PostgreSQL 15 instances on free loopback ports, for the
 * embedded defaults of `npm run engine` and for the test harness, and a private Redis
 * Cluster (several redis-server nodes joined by `redis-cli --cluster create`) for the
 * tests that run on one. Each instance keeps its data in a folder of its own and is
 * stopped by its own pid. When a binary is missing the
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
  const pid = spawnRedis(bin, dir, port, ["--appendonly", "yes", "--appendfsync", "everysec"])
  await pollUntil(`redis-server on port ${port}`, () => redisPing(port), 15_000)
  writeFileSync(stateFile, JSON.stringify({ port, pid }))
  return { url: `redis://127.0.0.1:${port}`, port, pid, reused: false, stop: () => stopPid(pid) }
}

/** Start one redis-server on 127.0.0.1:port with its files in `dir`; its pid (it may not answer yet). */
const spawnRedis = (bin: string, dir: string, port: number, extra: readonly string[]): number => {
  const child = spawn(bin, [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
    ...extra, "--daemonize", "no", "--logfile", join(dir, "redis.log")
  ], { detached: true, stdio: "ignore" })
  child.unref()
  if (child.pid === undefined) throw new Error("redis-server did not start")
  return child.pid
}

const stopPid = async (pid: number): Promise<void> => {
  if (!isAlive(pid)) return
  process.kill(pid, "SIGTERM")
  await pollUntil(`pid ${pid} to exit`, () => !isAlive(pid), 15_000).catch(() => {
    if (isAlive(pid)) process.kill(pid, "SIGKILL")
  })
}

// ---------------------------------------------------------------- Redis Cluster

export interface ClusterNode {
  readonly host: string
  readonly port: number
  readonly pid: number
}

export interface PrivateCluster {
  /** The masters, in the order `redis-cli --cluster create` was given them. */
  readonly nodes: readonly ClusterNode[]
  /** Stop every node by its pid (those already gone are skipped). */
  readonly stop: () => Promise<void>
}

const redisCli = (port: number, ...args: string[]): string =>
  spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8", timeout: 5000 }).stdout ?? ""

/** Whether a node's CLUSTER INFO says the cluster is up, with every slot served and every master known. */
const clusterReady = (port: number, masters: number): boolean => {
  const info = Object.fromEntries(redisCli(port, "cluster", "info").split(/\r?\n/).map((l) => l.split(":", 2)))
  return info["cluster_state"] === "ok" && info["cluster_slots_ok"] === "16384" && Number(info["cluster_known_nodes"]) === masters
}

/** `n` distinct free loopback ports. */
const freePorts = async (n: number): Promise<number[]> => {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}

/**
 * Start a Redis Cluster of `masters` masters and no replicas on free loopback ports, each
 * node's files in a folder of its own below `dir`: `redis-server --cluster-enabled yes`
 * per node (the cluster bus on a free port of its own), then `redis-cli --cluster create`,
 * which splits the 16384 slots into contiguous ranges, one per master, in order. Resolves
 * once every node's CLUSTER INFO says the cluster is ok; on any failure the nodes started
 * so far are stopped. No persistence: a node that stops loses its data.
 */
export const startRedisCluster = async (dir: string, options: { masters?: number; timeoutMs?: number } = {}): Promise<PrivateCluster> => {
  const bin = redisServerBinary()
  const masters = options.masters ?? 3
  const timeoutMs = options.timeoutMs ?? 60_000
  if (!Number.isInteger(masters) || masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, not ${masters}`)
  const ports = await freePorts(2 * masters)
  const nodes: ClusterNode[] = []
  const stop = async () => {
    await Promise.all(nodes.map((n) => stopPid(n.pid)))
  }
  try {
    for (let i = 0; i < masters; i++) {
      const port = ports[i] as number
      const nodeDir = join(dir, `node-${port}`)
      mkdirSync(nodeDir, { recursive: true })
      const pid = spawnRedis(bin, nodeDir, port, [
        "--cluster-enabled", "yes", "--cluster-port", String(ports[masters + i]),
        "--cluster-config-file", join(nodeDir, "nodes.conf"), "--cluster-node-timeout", "5000", "--appendonly", "no"
      ])
      nodes.push({ host: "127.0.0.1", port, pid })
    }
    for (const n of nodes) await pollUntil(`cluster node on port ${n.port}`, () => redisPing(n.port), timeoutMs)
    const create = spawnSync("redis-cli", [
      "--cluster", "create", ...nodes.map((n) => `${n.host}:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"
    ], { encoding: "utf8", timeout: timeoutMs })
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status ?? create.signal}): ${create.stdout}${create.stderr}`)
    for (const n of nodes) await pollUntil(`cluster_state:ok on port ${n.port}`, () => clusterReady(n.port, masters), timeoutMs)
  } catch (e) {
    await stop()
    throw e
  }
  return { nodes, stop }
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
