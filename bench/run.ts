/**
 * `npm run bench`: start a private redis-server and PostgreSQL in a temporary folder, run
 * every scenario in bench/scenarios (or those named with --only), print the figures as a
 * markdown table beside their baselines, write bench/results/<date>.json, and stop the
 * servers by pid.
 *   tsx bench/run.ts [--size tiny|full] [--only latency,replay] [--no-write]
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { Command } from "commander"
import { startPostgres, startRedis } from "../src/services/private-servers.ts"
import { loadScenarios, markdownTable, runScenario, writeResults, type ScenarioOutcome } from "./lib/runner.ts"

const opts = new Command()
  .name("bench")
  .option("--size <size>", "tiny (seconds, smoke) or full (real figures)", "full")
  .option("--only <names>", "comma-separated scenario names")
  .option("--no-write", "do not write bench/results/<date>.json")
  .parse(process.argv)
  .opts<{ size: string; only?: string; write: boolean }>()

if (opts.size !== "tiny" && opts.size !== "full") {
  process.stderr.write(`--size ${opts.size}: expected tiny or full\n`)
  process.exit(2)
}
const size = opts.size
const only = opts.only?.split(",").map((s) => s.trim()).filter(Boolean)
const log = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`)

const files = await loadScenarios()
const known = files.flatMap((f) => f.scenarios.map((s) => s.name))
const unknown = only?.filter((name) => !known.includes(name)) ?? []
if (unknown.length > 0) {
  process.stderr.write(`--only: no scenario named ${unknown.join(", ")}; known: ${known.join(", ")}\n`)
  process.exit(2)
}

const dir = mkdtempSync(join(tmpdir(), "strata-bench-servers-"))
chmodSync(dir, 0o755)
const [redis, pg] = await Promise.all([startRedis(join(dir, "redis")), startPostgres(join(dir, "pg"))])
log(`private redis-server pid ${redis.pid}, PostgreSQL pid ${pg.pid}`)
const outcomes: ScenarioOutcome[] = []
// Interrupted: stop the private servers by pid before leaving.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the private servers`)
    void Promise.all([redis.stop(), pg.stop()]).finally(() => process.exit(130))
  })
}
try {
  for (const { file, scenarios } of files) {
    for (const s of scenarios) {
      if (only && !only.includes(s.name)) continue
      log(`running ${s.name} (${file}, ${size})`)
      outcomes.push(await runScenario(file, s, { redisUrl: redis.url, databaseUrl: pg.url, size, log }))
    }
  }
} finally {
  await Promise.all([redis.stop(), pg.stop()])
  rmSync(dir, { recursive: true, force: true })
}

const figures = outcomes.flatMap((o) => o.figures)
process.stdout.write(`\n${markdownTable(figures)}`)
const failed = outcomes.filter((o) => o.error)
for (const f of failed) process.stdout.write(`\nscenario ${f.scenario} failed: ${f.error?.split("\n")[0]}\n`)
if (opts.write) {
  const path = writeResults({
    date: new Date().toISOString(), size, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30), outcomes
  })
  process.stdout.write(`\nresults: ${path}\n`)
}
process.exitCode = failed.length > 0 ? 1 : 0
