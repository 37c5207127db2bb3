/**
 * What the backfill tests share: a small retention policy, the rows a finished backfill
 * must have stored (recomputed from the synthetic generator, split at the hot boundary),
 * the rows actually stored in each tier, waiting on command progress, `strata workers`
 * child processes, workers with a captured log, and workers against the Polygon-shaped
 * server.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { stringify } from "yaml"
import { Effect, Exit, Scope } from "effect"
import type { Config, DataType, RetentionPolicy } from "../../config/schema.ts"
import { startWorkers, type WorkerUrls } from "../../src/app/worker-process.ts"
import { createLogger, type Logger } from "../../src/services/logger.ts"
import type { WorkerCounters } from "../../src/backfill/worker.ts"
import { owedTargets } from "../../src/backfill/planner.ts"
import type { SeriesInterval } from "../../src/domain/series.ts"
import { rowsOf } from "../../src/backfill/providers/synthetic.ts"
import type { Layer } from "../../src/domain/layers.ts"
import { naturalKey, type RowsOf, type StorageKind } from "../../src/domain/rows.ts"
import type { Sql } from "../../src/services/postgres.ts"
import { readCold } from "../../src/storage/cold-store.ts"
import { readHot } from "../../src/storage/hot-store.ts"
import type { ObjectStore } from "../../src/storage/object-store.ts"
import { afterEach, beforeEach } from "vitest"
import { waitUntil } from "./engine.ts"
import { testNamespace, type TestNamespace } from "./namespace.ts"
import { startPolygonServer, type PolygonServer } from "./polygon-server.ts"

/** L2 owes every kind, a few days each, with both tiers non-empty. */
export const SMALL_RETENTION = {
  L2: {
    market_data: { hot_days: 3, cold_days: 12, intervals: ["1day", "1hour", "5min"] },
    intraday: { hot_days: { "1min": 2, "5min": 4 }, cold_days: 6, intervals: ["1min", "5min"] },
    news: { hot_days: 5, cold_days: 20 },
    corporate_actions: { hot_days: 30, cold_days: 200 },
    social_sentiment: { hot_days: 2, cold_days: 6 }
  }
}

export const SMALL_CHUNKS = { "1day": 5, "1hour": 4, "5min": 3, "1min": 2, tick: 1, events: 7 }

const byKey = <K extends StorageKind>(kind: K, rows: readonly RowsOf[K][]): RowsOf[K][] => {
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

export interface SeriesRows {
  readonly kind: StorageKind
  readonly interval: SeriesInterval
  readonly hot: readonly unknown[]
  readonly cold: readonly unknown[]
}

/** The rows a finished command must have stored, per series, sorted by natural key. */
export const expectedRows = (
  policy: RetentionPolicy, layer: Layer, dataTypes: readonly DataType[], at: number, symbol: string, seed: number,
  supports: (kind: StorageKind) => boolean = () => true
): SeriesRows[] =>
  owedTargets(policy, layer, dataTypes, at).filter((t) => supports(t.kind)).map((t) => {
    const rows = rowsOf(seed, { symbol, kind: t.kind, interval: t.interval, from: t.window.from, to: t.window.to })
    const time = (r: unknown) => {
      const o = r as { ts?: number; published_at?: number; ex_date?: number }
      return o.ts ?? o.published_at ?? o.ex_date ?? 0
    }
    return {
      kind: t.kind, interval: t.interval,
      hot: byKey(t.kind, rows.filter((r) => time(r) >= t.hotFrom)),
      cold: byKey(t.kind, rows.filter((r) => time(r) < t.hotFrom))
    }
  })

const ALL = { from: 0, to: Date.UTC(2200, 0, 1) }

/** Everything stored of one series, in each tier, sorted by natural key. */
export const storedRows = async (sql: Sql, store: ObjectStore, kind: StorageKind, symbol: string, interval: SeriesInterval): Promise<SeriesRows> => ({
  kind, interval,
  hot: byKey(kind, await readHot(sql, kind, { symbol, interval }, ALL.from, ALL.to)),
  cold: byKey(kind, await readCold({ sql, store }, kind, symbol, interval, ALL.from, ALL.to))
})

export const finishedCommands = async (sql: Sql): Promise<{ command_id: string; status: string }[]> => {
  try {
    return await sql<{ command_id: string; status: string }[]>`
      SELECT command_id, status FROM backfill_progress WHERE status IN ('done', 'shrunk', 'cancelled', 'dead') ORDER BY command_id`
  } catch {
    return []
  }
}

export const waitForFinished = (sql: Sql, n: number, timeoutMs = 90_000) =>
  waitUntil(`${n} backfill command(s) finished`, async () => (await finishedCommands(sql)).length >= n, timeoutMs)

// ---------------------------------------------------------------- worker processes


const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))

/** Write config overrides as a YAML file a child process reads through STRATA_CONFIG. */
export const writeConfigFile = (dir: string, overrides: Record<string, unknown>): string => {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, stringify(overrides))
  return file
}

export interface WorkerProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/** `strata workers` in a child process bound to the test namespace's env. */
export const spawnWorkers = (env: NodeJS.ProcessEnv, configFile: string, extra: NodeJS.ProcessEnv = {}): WorkerProcess => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "workers"], {
    env: { ...env, ...extra, STRATA_CONFIG: configFile, NODE_NO_WARNINGS: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout?.on("data", (d: Buffer) => { out += d.toString() })
  child.stderr?.on("data", (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  if (child.pid === undefined) throw new Error("worker process did not start")
  return { child, pid: child.pid, output: () => out, exited }
}

export const progressDone = async (sql: Sql, id: string): Promise<number> => {
  try {
    const rows = await sql<{ done: number }[]>`SELECT done FROM backfill_progress WHERE command_id = ${id}`
    return rows[0]?.done ?? 0
  } catch {
    return 0
  }
}

/** A logger at debug level whose every finished line (after redaction) is kept. */
export const capturedLogger = (): { readonly log: Logger; readonly lines: string[] } => {
  const lines: string[] = []
  return { log: createLogger("test-workers", "debug", { write: (s: string) => { lines.push(s) } }), lines }
}

/** The worker fibers inside the test process; `stop` closes their scope. */
export const runWorkers = async (
  config: Config, urls: WorkerUrls, env: NodeJS.ProcessEnv = {},
  log: Logger = createLogger("test-workers", process.env["LOG_LEVEL"] ?? "silent")
): Promise<{ stop: () => Promise<void>; counters: WorkerCounters }> => {
  const scope = Effect.runSync(Scope.make())
  const counters = await Effect.runPromise(Scope.provide(scope)(startWorkers(config, log, urls, env)))
  return { stop: () => Effect.runPromise(Scope.close(scope, Exit.void)), counters }
}

// ---------------------------------------------------------------- workers against the Polygon-shaped server

export interface PolygonBackfill {
  ns: TestNamespace
  server: PolygonServer
  /** The config overrides the namespace was made with (for a child process's config file). */
  overrides: Record<string, unknown>
  dir: string
  /** Stopped after each test when set. */
  workers: Awaited<ReturnType<typeof runWorkers>> | undefined
}

/**
 * Per test: a Polygon-shaped server, a namespace whose provider is `polygon` at that
 * server (unlimited rate, one worker, short reads) with its own lake, and teardown of
 * all of it. `overrides` adds to or replaces the backfill config's parts.
 */
export const polygonBackfill = (
  overrides: { retention?: unknown; backfill?: Record<string, unknown> },
  serverOptions: Parameters<typeof startPolygonServer>[0] = {}
): PolygonBackfill => {
  const ctx = { workers: undefined } as PolygonBackfill
  beforeEach(async () => {
    ctx.dir = mkdtempSync(join(tmpdir(), "strata-polygon-"))
    ctx.server = await startPolygonServer(serverOptions)
    ctx.overrides = {
      retention: overrides.retention ?? { L2: { market_data: { hot_days: 2, cold_days: 4, intervals: ["1day"] } } },
      storage: { lake: join(ctx.dir, "lake") },
      backfill: { workers: 1, provider: "polygon", block_ms: 100, ...overrides.backfill },
      providers: { polygon: { base_url: ctx.server.url, rate_limit: { requests_per_second: 0, max_concurrent: 0 } } }
    }
    ctx.ns = await testNamespace(ctx.overrides)
  })
  afterEach(async () => {
    await ctx.workers?.stop()
    ctx.workers = undefined
    await ctx.server.close()
    await ctx.ns.cleanup()
    rmSync(ctx.dir, { recursive: true, force: true })
  })
  return ctx
}
