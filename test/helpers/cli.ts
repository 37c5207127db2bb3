/** `strata …` as a child process, the way an operator runs it: exit code, stdout and stderr. */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))

export interface CliResult { readonly code: number | null; readonly out: string; readonly err: string }

export const runStrata = (env: NodeJS.ProcessEnv, args: readonly string[]): Promise<CliResult> => new Promise((resolve) => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  child.stdout.on("data", (d: Buffer) => { out += d.toString() })
  child.stderr.on("data", (d: Buffer) => { err += d.toString() })
  child.on("exit", (code) => resolve({ code, out, err }))
})
