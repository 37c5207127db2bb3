/**
 * The bench runner's parts: find every scenario file in bench/scenarios, run each with its
 * own scratch folder (a failing scenario is reported and the rest still run), render the
 * figures as a markdown table with each baseline and ratio, and write the results file.
 * A scenario file exports a Scenario as `default` or `scenario` (or an array of them).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL, fileURLToPath } from "node:url"
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"

export const SCENARIOS_DIR = fileURLToPath(new URL("../scenarios/", import.meta.url))
export const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url))

const isScenario = (v: unknown): v is Scenario =>
  typeof v === "object" && v !== null && typeof (v as Scenario).name === "string" && typeof (v as Scenario).run === "function"

export interface ScenarioFile {
  readonly file: string
  readonly scenarios: readonly Scenario[]
}

/** Scenario files in name order (`*.ts`), each with the scenarios it exports. */
export const loadScenarios = async (dir = SCENARIOS_DIR): Promise<ScenarioFile[]> => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort()
  const out: ScenarioFile[] = []
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>
    const found = new Set<Scenario>()
    for (const v of Object.values(mod)) {
      if (isScenario(v)) found.add(v)
      else if (Array.isArray(v)) for (const x of v) if (isScenario(x)) found.add(x)
    }
    if (found.size === 0) throw new Error(`bench/scenarios/${file} exports no scenario (a default or named Scenario: { name, description, run })`)
    out.push({ file, scenarios: [...found] })
  }
  return out
}

export interface ScenarioOutcome {
  readonly scenario: string
  readonly file: string
  readonly seconds: number
  readonly figures: readonly BenchFigure[]
  readonly error?: string
}

export interface RunOptions {
  readonly redisUrl: string
  readonly databaseUrl: string
  readonly size: BenchContext["size"]
  readonly log?: (message: string) => void
}

export const runScenario = async (file: string, s: Scenario, options: RunOptions): Promise<ScenarioOutcome> => {
  const tmpDir = mkdtempSync(join(tmpdir(), `strata-bench-${s.name.replace(/[^a-z0-9-]/gi, "_")}-`))
  const log = options.log ?? (() => {})
  const started = performance.now()
  try {
    const figures = await s.run({
      redisUrl: options.redisUrl, databaseUrl: options.databaseUrl, tmpDir, size: options.size,
      log: (m) => log(`[${s.name}] ${m}`)
    })
    return { scenario: s.name, file, seconds: (performance.now() - started) / 1000, figures }
  } catch (e) {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e)
    log(`[${s.name}] FAILED: ${error}`)
    return { scenario: s.name, file, seconds: (performance.now() - started) / 1000, figures: [], error }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true })
  }
}

const fmt = (v: number): string => {
  if (!Number.isFinite(v)) return String(v)
  const a = Math.abs(v)
  if (a >= 1000) return Math.round(v).toLocaleString("en-US")
  if (a >= 10) return v.toFixed(1)
  if (a >= 0.01 || a === 0) return v.toFixed(2)
  return v.toPrecision(2)
}

export const markdownTable = (figures: readonly BenchFigure[]): string => {
  const rows = [
    "| scenario | metric | value | baseline | baseline value | ratio | goal | pass |",
    "|---|---|---:|---|---:|---:|---|:-:|"
  ]
  for (const f of figures) {
    rows.push(`| ${f.scenario} | ${f.metric} | ${fmt(f.value)} ${f.unit} | ${f.baseline?.name ?? ""} | ${f.baseline ? fmt(f.baseline.value) : ""} | ${f.ratio !== undefined ? `${fmt(f.ratio)}×` : ""} | ${f.goal ?? ""} | ${f.pass === undefined ? "" : f.pass ? "yes" : "**no**"} |`)
  }
  return `${rows.join("\n")}\n`
}

/** bench/results/<YYYY-MM-DD>.json, or -2, -3 … when that day already has one. */
export const writeResults = (payload: unknown, dir = RESULTS_DIR, now = new Date()): string => {
  mkdirSync(dir, { recursive: true })
  const day = now.toISOString().slice(0, 10)
  let path = join(dir, `${day}.json`)
  for (let n = 2; existsSync(path); n++) path = join(dir, `${day}-${n}.json`)
  writeFileSync(path, `${JSON.stringify(payload, null, 2)}\n`)
  return path
}
