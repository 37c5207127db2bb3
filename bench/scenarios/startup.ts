/**
 * CLI start-up: wall time of whole `strata --help` and `strata status` processes (started as
 * an operator starts them, `node bin/strata.js …`, from spawn to exit), beside a bare
 * `node -e 0` started the same way in the same run, runs interleaved (A B A B …) so a drift
 * in the machine's speed touches both. `status` includes connecting to the bench's Redis
 * and PostgreSQL and its three reads. Lower is better; the figure is the median run.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import type { BenchFigure, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { ROOT } from "../lib/children.ts"

/** `strata --help` should cost a few bare node start-ups, not a transpile of the whole CLI. */
export const GOAL_HELP_RATIO = 5

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** Seconds from spawn to exit of one process; a non-zero exit is an error (the figure would lie). */
const timeRun = (args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2_000) })
    child.once("error", reject)
    child.once("exit", (code) => {
      const seconds = (performance.now() - started) / 1000
      if (code === 0) resolve(seconds)
      else reject(new Error(`node ${args.join(" ")} exited ${code}: ${stderr.trim()}`))
    })
  })

/**
 * Median seconds of `args` and of the baseline, runs interleaved, after `warmups` of each
 * (the first run of a command fills tsx's transform cache and the page cache).
 */
const paired = async (args: readonly string[], env: NodeJS.ProcessEnv, runs: number, warmups: number) => {
  const bare = ["-e", "0"]
  for (let i = 0; i < warmups; i++) {
    await timeRun(args, env)
    await timeRun(bare, env)
  }
  const a: number[] = []
  const b: number[] = []
  for (let i = 0; i < runs; i++) {
    a.push(await timeRun(args, env))
    b.push(await timeRun(bare, env))
  }
  return { value: median(a), baseline: median(b) }
}

export const scenario: Scenario = {
  name: "startup",
  description: "whole-process wall time of `strata --help` and `strata status` vs `node -e 0`, interleaved, median",
  run: async (ctx) => {
    const runs = ctx.size === "tiny" ? 1 : 10
    const warmups = ctx.size === "tiny" ? 0 : 1
    const bin = join(ROOT, "bin/strata.js")
    const ns = await benchNamespace(ctx, "startup")
    const figures: BenchFigure[] = []
    try {
      const env = { ...ns.env, LOG_LEVEL: "warn" }
      const help = await paired([bin, "--help"], env, runs, warmups)
      ctx.log(`--help ${help.value.toFixed(3)} s, node -e 0 ${help.baseline.toFixed(3)} s`)
      figures.push({
        scenario: "startup", metric: "`strata --help` wall (median)", value: help.value, unit: "s",
        baseline: { name: "`node -e 0`", value: help.baseline }, ratio: help.value / help.baseline,
        goal: `≤ ${GOAL_HELP_RATIO}× node -e 0 (lower is better)`, pass: help.value / help.baseline <= GOAL_HELP_RATIO
      })
      const status = await paired([bin, "status"], env, runs, warmups)
      ctx.log(`status ${status.value.toFixed(3)} s, node -e 0 ${status.baseline.toFixed(3)} s`)
      figures.push({
        scenario: "startup", metric: "`strata status` wall (median)", value: status.value, unit: "s",
        baseline: { name: "`node -e 0`", value: status.baseline }, ratio: status.value / status.baseline,
        goal: "lower is better"
      })
    } finally {
      await ns.cleanup()
    }
    return figures
  }
}
