/**
 * Real processes in tests: liveness by pid, the tree of processes below a pid (Linux /proc),
 * runs of a command killed with SIGKILL at random instants (the crash tests), and
 * `strata engine` children with the wait for their exit.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { readdirSync, readFileSync } from "node:fs"

/** The parent pid from /proc/<pid>/stat, or undefined once the process is gone. */
export const parentOf = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
    return Number.isInteger(ppid) ? ppid : undefined
  } catch {
    return undefined
  }
}

/** Alive and not a zombie (an exited child waiting to be reaped has stopped serving). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

/** Every process below `root` (children, their children, …), living now. */
export const descendants = (root: number): number[] => {
  const children = new Map<number, number[]>()
  for (const name of readdirSync("/proc")) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const ppid = parentOf(pid)
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid])
  }
  const out: number[] = []
  const stack = [root]
  while (stack.length > 0) {
    for (const c of children.get(stack.pop() as number) ?? []) {
      out.push(c)
      stack.push(c)
    }
  }
  return out
}

export interface KillRuns {
  /** Runs killed before they ended. */
  readonly kills: number
  /** Kills that cut a run after it had made some progress. */
  readonly midway: number
}

/**
 * Run `node args` again and again and kill each run with SIGKILL, until `kills` runs were
 * killed (at most six attempts per kill; a run that ends first is not counted). Even
 * attempts kill once `progress()` (a count that only grows while the run works) has risen
 * by a random step of 1 to `step`, plus up to 40 ms; odd ones at a random instant of the
 * run, start-up included. `afterKill` checks the state each kill leaves.
 */
export const killRuns = async (o: {
  readonly args: readonly string[]; readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly kills: number
  readonly progress: () => Promise<number>; readonly rand: () => number; readonly step?: number
  readonly afterKill?: () => Promise<void>
}): Promise<KillRuns> => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  let kills = 0
  let midway = 0
  for (let attempt = 0; kills < o.kills && attempt < o.kills * 6; attempt++) {
    const before = await o.progress()
    const child = spawn(process.execPath, [...o.args], { cwd: o.cwd, env: o.env, stdio: "ignore" })
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    let done = false
    void exited.then(() => { done = true })
    if (attempt % 2 === 0) {
      const mark = before + 1 + Math.floor(o.rand() * (o.step ?? 3000))
      while (!done && (await o.progress()) < mark) await sleep(5)
      await sleep(o.rand() * 40)
    } else {
      await Promise.race([exited, sleep(200 + o.rand() * 1000)])
    }
    if (done) continue
    child.kill("SIGKILL")
    kills++
    await exited
    if ((await o.progress()) > before) midway++
    await o.afterKill?.()
  }
  return { kills, midway }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

/**
 * A `strata engine` child of the project's CLI with `env`; its stdout is dropped, its
 * stderr dropped, passed to the test's own, or (given an array) collected as it comes.
 */
export const startEngineProcess = (env: NodeJS.ProcessEnv, stderr: "ignore" | "inherit" | string[] = "inherit"): ChildProcess => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "engine"], {
    cwd: ROOT, env, stdio: ["ignore", "ignore", Array.isArray(stderr) ? "pipe" : stderr]
  })
  if (Array.isArray(stderr)) child.stderr?.on("data", (d: Buffer) => stderr.push(d.toString()))
  return child
}

/** Resolves once the child has exited (at once when it already has). */
export const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))
