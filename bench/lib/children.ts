/**
 * Child processes of the bench (an engine, a relay): TypeScript entry points run through
 * tsx, output kept in a log file of the scenario's scratch folder, readiness awaited on a
 * line of stdout or stderr (the engine logs to stderr), and stopped by their own pid (SIGTERM, then SIGKILL after a grace time).
 */
import { spawn, type ChildProcess } from "node:child_process"
import { createWriteStream } from "node:fs"
import { fileURLToPath } from "node:url"

export const ROOT = fileURLToPath(new URL("../../", import.meta.url))

export interface Child {
  readonly pid: number
  readonly process: ChildProcess
  /** Resolves when a line of stdout or stderr matches; rejects if the child exits first or on timeout. */
  readonly ready: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  readonly stop: () => Promise<void>
}

/** `nodeArgs`: options for node itself (e.g. --cpu-prof, which NODE_OPTIONS does not accept). */
export const startChild = (entry: string, args: readonly string[], env: NodeJS.ProcessEnv, logFile: string, nodeArgs: readonly string[] = []): Child => {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", entry, ...args], {
    cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"]
  })
  if (child.pid === undefined) throw new Error(`could not start ${entry}`)
  const pid = child.pid
  const log = createWriteStream(logFile)
  let buffered = ""
  const waiters: { pattern: RegExp; resolve: () => void }[] = []
  const onOutput = (chunk: Buffer) => {
    log.write(chunk)
    buffered = (buffered + chunk.toString()).slice(-65_536)
    for (const w of [...waiters]) {
      if (w.pattern.test(buffered)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  }
  child.stdout?.on("data", onOutput)
  child.stderr?.on("data", onOutput)
  let exited = false
  const exit = new Promise<void>((resolve) => child.once("exit", () => { exited = true; log.end(); resolve() }))
  return {
    pid,
    process: child,
    // A loaded machine takes its time to start a TypeScript process: wait long, fail clearly.
    ready: (pattern, timeoutMs = 120_000) =>
      pattern.test(buffered)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${entry} not ready after ${timeoutMs} ms; see ${logFile}`)), timeoutMs)
            waiters.push({ pattern, resolve: () => { clearTimeout(timer); resolve() } })
            void exit.then(() => { clearTimeout(timer); reject(new Error(`${entry} exited before it was ready; see ${logFile}`)) })
          }),
    stop: async () => {
      if (exited) return
      process.kill(pid, "SIGTERM")
      const timer = setTimeout(() => { if (!exited) process.kill(pid, "SIGKILL") }, 10_000)
      await exit
      clearTimeout(timer)
    }
  }
}
