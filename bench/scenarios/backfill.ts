/**
 * Backfill pipeline throughput: rows/s of one command carried out by a worker fiber
 * (plan → synthetic fetch → route hot/cold → coverage → progress, re-planning after every
 * task) beside the same rows written straight through `writeRows` in the same chunks, no
 * planning, coverage, progress or stream. Same data, same chunks, same run; the ratio is
 * what the worker's bookkeeping costs. Goal: ≥ 60% of the direct writes.
 */
import { join } from "node:path"
import { Effect, Exit, Schedule, Scope } from "effect"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { owedTargets, tasksFor } from "../../src/backfill/planner.ts"
import { rowsOf } from "../../src/backfill/providers/synthetic.ts"
import { BACKFILL_DDL, startWorkers } from "../../src/app/worker-process.ts"
import { createLogger } from "../../src/services/logger.ts"
import { migrate, openPostgres } from "../../src/services/postgres.ts"
import { localObjectStore } from "../../src/storage/object-store.ts"
import { writeRows } from "../../src/storage/write-router.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"

const GOAL_RATIO = 0.6
const AT = Date.UTC(2026, 0, 7, 15)

const overridesFor = (ctx: BenchContext, lake: string) => {
  const days = ctx.size === "tiny" ? 10 : 250
  return {
    retention: { L3: { market_data: { hot_days: Math.floor(days / 2), cold_days: days, intervals: ["1min", "5min"] } } },
    storage: { lake },
    backfill: { workers: 1, block_ms: 100 }
  }
}

/** Rows/s of the worker pipeline for one command. */
const pipelineRate = async (ctx: BenchContext): Promise<{ rate: number; rows: number; tasks: number }> => {
  const ns = await benchNamespace(ctx, "backfill", overridesFor(ctx, join(ctx.tmpDir, "lake-workers")))
  const scope = Effect.runSync(Scope.make())
  const sql = openPostgres(ctx.databaseUrl, ns.schema, 2)
  try {
    await Effect.runPromise(Scope.provide(scope)(startWorkers(ns.config, createLogger("bench-backfill", "warn"), ctx)))
    const started = performance.now()
    await ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*", ...commandFields({
      id: "bf-bench", symbol: "BENCH", layer: 3, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 3
    }))
    const poll = Effect.promise(() => sql<{ status: string; written: number; done: number }[]>`
      SELECT status, written::float8 AS written, done FROM backfill_progress WHERE command_id = 'bf-bench'`)
    const [row] = await Effect.runPromise(poll.pipe(Effect.repeat({
      schedule: Schedule.spaced("20 millis"),
      until: (rows) => rows[0]?.status === "done"
    })))
    const seconds = (performance.now() - started) / 1000
    return { rate: (row?.written ?? 0) / seconds, rows: row?.written ?? 0, tasks: row?.done ?? 0 }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await sql.end({ timeout: 2 })
    await ns.cleanup()
  }
}

/** Rows/s of the same chunks' rows through writeRows directly. */
const directRate = async (ctx: BenchContext): Promise<number> => {
  const ns = await benchNamespace(ctx, "backfill-direct", overridesFor(ctx, join(ctx.tmpDir, "lake-direct")))
  const sql = openPostgres(ctx.databaseUrl, ns.schema, 2)
  const store = localObjectStore(join(ctx.tmpDir, "lake-direct"))
  try {
    await migrate(sql, ns.schema, BACKFILL_DDL)
    const tasks = tasksFor("BENCH", owedTargets(ns.config.retention, 3, ["market_data"], AT), new Map(), ns.config.backfill.chunk_days, 3)
    const started = performance.now()
    let rows = 0
    for (const t of tasks) {
      const fetched = rowsOf(ns.config.providers.synthetic.seed, t)
      const w = await writeRows({ sql, store }, t.kind, fetched, t.hotFrom)
      rows += w.hot + w.cold
    }
    return rows / ((performance.now() - started) / 1000)
  } finally {
    await store.close()
    await sql.end({ timeout: 2 })
    await ns.cleanup()
  }
}

export const scenario: Scenario = {
  name: "backfill",
  description: "one backfill command through a worker fiber vs the same rows through writeRows directly",
  run: async (ctx) => {
    const direct = await directRate(ctx)
    const pipeline = await pipelineRate(ctx)
    ctx.log(`backfill: ${pipeline.rows} rows in ${pipeline.tasks} tasks`)
    const ratio = pipeline.rate / direct
    const figure: BenchFigure = {
      scenario: "backfill", metric: "backfill rows/s (worker pipeline)", value: Math.round(pipeline.rate), unit: "rows/s",
      baseline: { name: "writeRows direct, same chunks", value: Math.round(direct) },
      ratio, goal: `≥ ${GOAL_RATIO * 100}% of writeRows direct`, pass: ratio >= GOAL_RATIO
    }
    return [figure]
  }
}

export default scenario
