/**
 * Stopping `strata engine` through whatever launched it: `npm run engine`, `node
 * bin/strata.js engine` and `npx strata engine` are started as real processes in a private
 * namespace, the launcher's pid is signalled, and the engine process (and, where it started
 * one, its private PostgreSQL) must be gone after a clean shutdown. Also: a SIGHUP of npm
 * (which npm does not pass on) and a Ctrl-C (SIGINT to the whole process group, so the
 * engine and npm both hear it) stop it cleanly too.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { chmodSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { descendants, isAlive, parentOf } from "../helpers/processes.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
/** A loaded machine starts a TypeScript engine (and a private PostgreSQL) slowly. */
const START_MS = 180_000
const STOP_MS = 90_000

const LAUNCHERS = {
  "npm run engine": ["npm", ["run", "engine"]],
  "node bin/strata.js engine": [process.execPath, ["bin/strata.js", "engine"]],
  "npx strata engine": ["npx", ["strata", "engine"]]
} as const satisfies Record<string, readonly [string, readonly string[]]>

interface Launched {
  readonly launcher: ChildProcess
  readonly pid: number
  /** Parsed JSON log lines seen so far (npm's own lines are skipped). */
  readonly logs: Record<string, unknown>[]
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const launch = (how: keyof typeof LAUNCHERS, env: NodeJS.ProcessEnv): Launched => {
  const [cmd, args] = LAUNCHERS[how]
  // Its own process group, so a Ctrl-C can be sent to the group, as a terminal does.
  const launcher = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true })
  if (launcher.pid === undefined) throw new Error(`${how} did not start`)
  const logs: Record<string, unknown>[] = []
  // The engine logs JSON lines to stderr; npm and npx may print their own lines beside them.
  let partial = ""
  let stderr = ""
  launcher.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000)
    const lines = (partial + chunk.toString()).split("\n")
    partial = lines.pop() ?? ""
    for (const line of lines) {
      if (!line.startsWith("{")) continue
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        // Not a log line (a JSON-looking line of npm's); nothing to read from it.
      }
    }
  })
  launcher.stdout?.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    launcher.once("exit", (code, signal) => resolve({ code, signal })))
  void exited.then(({ code }) => { if (code !== 0 && stderr) console.warn(`${how} stderr:\n${stderr}`) })
  return { launcher, pid: launcher.pid, logs, exited }
}

const logged = (l: Launched, msg: string) => l.logs.find((e) => e["msg"] === msg)

/** Waits for the engine's "engine running" line and returns the engine's own pid. */
const engineUp = async (l: Launched): Promise<number> => {
  await waitUntil("the engine to run", () => logged(l, "engine running") !== undefined, START_MS)
  return Number(logged(l, "engine running")?.["pid"])
}

describe("stopping the engine through its launcher", () => {
  let ns: TestNamespace | undefined
  let group: number | undefined
  let server: number | undefined
  afterEach(async () => {
    // A failed test must not leave an engine or a server behind: the launcher's whole
    // process group, and the private server (in a group of its own), by their ids.
    if (group !== undefined) try { process.kill(-group, "SIGKILL") } catch { /* already gone: nothing to stop */ }
    if (server !== undefined && isAlive(server)) process.kill(server, "SIGTERM")
    group = undefined
    server = undefined
    await ns?.cleanup()
    ns = undefined
  })

  it("`npm run engine`: SIGTERM of the npm pid stops the engine and its private PostgreSQL", async () => {
    ns = await testNamespace()
    const dataDir = ns.env["STRATA_DATA_DIR"] as string
    // The postgres user must reach the private cluster's folder below this one.
    chmodSync(dataDir, 0o755)
    const l = launch("npm run engine", { ...ns.env, DATABASE_URL: "", LOG_LEVEL: "info" })
    group = l.pid
    const engine = await engineUp(l)
    // npm's own child, no shell between them: npm's SIGTERM reaches the engine itself.
    expect(parentOf(engine)).toBe(l.pid)
    // PostgreSQL's own pid file names the private cluster's postmaster.
    const pg = Number(readFileSync(join(dataDir, "pg", "data", "postmaster.pid"), "utf8").split("\n")[0])
    server = pg
    expect(isAlive(pg)).toBe(true)

    process.kill(l.pid, "SIGTERM")
    await waitUntil("the engine to exit", () => !isAlive(engine), STOP_MS)
    await waitUntil("its private PostgreSQL to stop", () => !isAlive(pg), STOP_MS)
    expect(logged(l, "stopped")).toBeDefined()
    // npm exits with the engine's code.
    expect((await l.exited).code).toBe(0)
  }, START_MS + 2 * STOP_MS)

  it("`node bin/strata.js engine` is the engine itself: SIGTERM of its pid stops it, nothing left", async () => {
    ns = await testNamespace()
    const l = launch("node bin/strata.js engine", { ...ns.env, LOG_LEVEL: "info" })
    group = l.pid
    const engine = await engineUp(l)
    expect(engine).toBe(l.pid)
    const below = descendants(l.pid)

    process.kill(l.pid, "SIGTERM")
    expect(await l.exited).toEqual({ code: 0, signal: null })
    expect(logged(l, "stopped")).toBeDefined()
    await waitUntil("every process it started to exit", () => below.every((p) => !isAlive(p)), STOP_MS)
  }, START_MS + STOP_MS)

  it("`node bin/strata.js engine`: SIGHUP (a closed terminal) is a clean shutdown, exit 0", async () => {
    ns = await testNamespace()
    const l = launch("node bin/strata.js engine", { ...ns.env, LOG_LEVEL: "info" })
    group = l.pid
    await engineUp(l)

    process.kill(l.pid, "SIGHUP")
    expect(await l.exited).toEqual({ code: 0, signal: null })
    expect(logged(l, "stopped")).toBeDefined()
  }, START_MS + STOP_MS)

  it("`npx strata engine`: SIGTERM of the npx pid stops the engine (a `sh -c` lies between them), nothing left", async () => {
    ns = await testNamespace()
    const l = launch("npx strata engine", { ...ns.env, LOG_LEVEL: "info" })
    group = l.pid
    const engine = await engineUp(l)
    const below = descendants(l.pid)
    expect(below).toContain(engine)

    process.kill(l.pid, "SIGTERM")
    await waitUntil("the engine to exit", () => !isAlive(engine), STOP_MS)
    expect(logged(l, "stopped")).toBeDefined()
    await waitUntil("every process below npx to exit", () => below.every((p) => !isAlive(p)), STOP_MS)
  }, START_MS + 2 * STOP_MS)

  it("`npm run engine`: SIGHUP of the npm pid (npm passes it to nobody) stops the engine", async () => {
    ns = await testNamespace()
    const l = launch("npm run engine", { ...ns.env, LOG_LEVEL: "info" })
    group = l.pid
    const engine = await engineUp(l)

    process.kill(l.pid, "SIGHUP")
    await waitUntil("the engine to exit", () => !isAlive(engine), STOP_MS)
    expect(logged(l, "stopped")).toBeDefined()
  }, START_MS + STOP_MS)

  it("`npm run engine`: Ctrl-C (SIGINT to the process group) is one clean shutdown, exit 0", async () => {
    ns = await testNamespace()
    const l = launch("npm run engine", { ...ns.env, LOG_LEVEL: "info" })
    group = l.pid
    const engine = await engineUp(l)

    process.kill(-l.pid, "SIGINT")
    await waitUntil("the engine to exit", () => !isAlive(engine), STOP_MS)
    expect(logged(l, "stopped")).toBeDefined()
    expect((await l.exited).code).toBe(0)
  }, START_MS + STOP_MS)
})
