/**
 * Carrying out one backfill command: plan against the coverage held now, fetch the first
 * task, route its rows (hot → PostgreSQL, older → Parquet), record the fetched range as
 * coverage, count progress, and plan again, until nothing is owed. Re-planning after
 * every task makes a crash, a repeat or a later demotion cost nothing extra: coverage is
 * the only truth, and a demoted symbol is planned at its current layer (shrunk or
 * cancelled work). Retries: RateLimited waits its Retry-After and is not an attempt;
 * Retryable follows a capped, jittered exponential schedule; Terminal is not retried.
 * A task's retries share one fetch session: a paged fetch resumes at the page that failed,
 * and every request made (failed attempts' too) is added to the command's progress.
 * Before the first plan, rows already held cold inside the command's hot window (a
 * promotion widened it) are moved hot (storage/warm-up.ts): a promoted symbol's hot tier
 * holds its new hot window as soon as its command runs, without fetching those rows again.
 * Each step is reported to the command's stall clock (stall.ts) when one is given, so
 * its worker can tell work that moves slowly from work that waits for ever.
 * Does not read the stream, acknowledge or dead-letter: worker.ts does.
 */
import { persistedLayer } from "../../machines/lifecycle.ts"
import { Duration, Effect, Schedule } from "effect"
import type { BackfillConfig, RetentionPolicy } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"
import type { Range } from "../domain/ranges.ts"
import type { SeriesOfAnySymbol } from "../domain/series.ts"
import type { Redis } from "../services/redis.ts"
import type { Sql } from "../services/postgres.ts"
import { coveredRanges, recordCoverage } from "../storage/coverage.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { warmUp } from "../storage/warm-up.ts"
import { writeRows } from "../storage/write-router.ts"
import { MANUAL_CAUSE, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { isInfrastructureError, tierError, tryPostgres, tryRedis, type InfrastructureError } from "../services/errors.ts"
import { asFetchError, RateLimited, type FetchError } from "./errors.ts"
import { coverageKey, effectiveLayer, owedTargets, tasksFor, type Coverage, type FetchTask, type Target } from "./planner.ts"
import { attemptFailed, setPlanned, taskDone, type CommandStatus } from "./progress.ts"
import { newSession, type FetchRequest, type Provider } from "./providers/provider.ts"
import { tracked, type StallClock } from "./stall.ts"

/** A write that may fail without failing the work: counted and logged by the caller. */
export type Unsettled = (what: string, error: unknown) => void

export interface ExecuteDeps {
  readonly sql: Sql
  readonly store: ObjectStore
  readonly redis: Redis
  /** The partition's snapshots hash (symbol → actor JSON with its `layer`). */
  readonly snapshotsKey: string
  readonly provider: Provider
  readonly policy: RetentionPolicy
  readonly backfill: BackfillConfig
  /** Called for each informational progress write that failed (the work goes on). */
  readonly unsettled: Unsettled
  /** Told of each step begun and settled (the worker's stall bound); none: not watched. */
  readonly stall?: StallClock
}

/** What one task needs (the healing pass runs tasks without a command stream or actors). */
export type TaskDeps = Pick<ExecuteDeps, "sql" | "store" | "provider" | "backfill" | "unsettled" | "stall">

/** What a task can fail with: the provider's tagged errors, or a store's. */
export type TaskError = FetchError | InfrastructureError

/** The symbol's layer now, from its persisted actor; undefined when it has none. */
export const currentLayer = (redis: Redis, snapshotsKey: string, symbol: string): Effect.Effect<Layer | undefined, InfrastructureError> =>
  tryRedis("read the symbol's layer", async () => {
    return persistedLayer(await redis.hget(snapshotsKey, symbol))
  })

const coverageFor = (sql: Sql, symbol: string, owed: readonly SeriesOfAnySymbol[]): Effect.Effect<Coverage, InfrastructureError> =>
  tryPostgres("read coverage", async () => {
    const m = new Map<string, Range[]>()
    for (const s of owed) m.set(coverageKey(s.kind, s.interval), await coveredRanges(sql, s.kind, symbol, s.interval))
    return m
  })

/** Waits on 429s (Retry-After each time), up to a cap; a wait is not an attempt. */
const rateLimitedWaits = (max: number) =>
  Schedule.recurs(max).pipe(
    Schedule.modifyDelay((meta) => Effect.succeed(Duration.millis(meta.input instanceof RateLimited ? meta.input.retryAfterMs : 1000)))
  )

/** Retryable failures: exponential from base, jittered, capped, at most `max_attempts` retries. */
export const retrySchedule = (b: BackfillConfig) =>
  Schedule.min([Schedule.exponential(Duration.millis(b.retry.base_ms)).pipe(Schedule.jittered), Schedule.spaced(Duration.millis(b.retry.max_delay_ms))])
    .pipe(Schedule.upTo({ times: b.retry.max_attempts }))

/** Retry a RateLimited failure after its Retry-After; other failures pass through. */
export const waitOnRateLimits = (b: BackfillConfig) => <A, R>(self: Effect.Effect<A, FetchError, R>) =>
  self.pipe(Effect.retry({ while: (e: FetchError) => e._tag === "RateLimited", schedule: rateLimitedWaits(b.retry.max_rate_limited_waits) }))

/** Whether the capped schedule retries `e`: a Retryable fetch, or a store that failed (a write is idempotent). */
export const isRetried = (e: TaskError): boolean => e._tag === "Retryable" || isInfrastructureError(e)

/** Retry a Retryable (or store) failure on the capped schedule; Terminal (and RateLimited past its cap) pass through. */
export const retryRetryable = (b: BackfillConfig) => <A, E extends TaskError, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.retry({ while: (e: E) => isRetried(e), schedule: retrySchedule(b) }))

/** One task: fetch (through the limiter), write routed by the hot boundary, record coverage. */
export const runTask = (deps: TaskDeps, commandId: string, task: FetchTask) => {
  const session = newSession()
  // Requests already added to the command's progress; each write adds what came since.
  let counted = 0
  const uncounted = () => {
    const n = session.requests - counted
    counted = session.requests
    return n
  }
  const request: FetchRequest = { kind: task.kind, symbol: task.symbol, interval: task.interval, from: task.from, to: task.to }
  const what = `${task.kind} ${task.interval} of ${task.symbol}`
  // Each answer counts as progress, a 429 too; the Retry-After wait that follows does not.
  const fetch = tracked(deps.stall, `fetch ${what}`, Effect.tryPromise({ try: () => deps.provider.fetch(request, session), catch: asFetchError }))
    .pipe(waitOnRateLimits(deps.backfill))
  const once = Effect.gen(function* () {
    const res = yield* fetch
    const written = yield* tracked(deps.stall, `write rows of ${what}`,
      Effect.tryPromise({ try: () => writeRows({ sql: deps.sql, store: deps.store }, task.kind, res.rows, task.hotFrom), catch: (e) => tierError("write rows", e) }))
    yield* tracked(deps.stall, "record coverage", tryPostgres("record coverage", () => recordCoverage(deps.sql, { ...request, tier: task.tier })))
    const outcome = { fetched: res.rows.length, hot: written.hot, cold: written.cold, objects: written.objects.length, requests: session.requests - counted }
    yield* tracked(deps.stall, "count progress", tryPostgres("count progress", () => taskDone(deps.sql, commandId, outcome)))
    counted = session.requests
    return outcome
  })
  return once.pipe(
    Effect.tapError((e) => tracked(deps.stall, "count a failed attempt", Effect.promise(() =>
      attemptFailed(deps.sql, commandId, `${e._tag}: ${e.message}`, uncounted()).catch((err: unknown) => deps.unsettled("attempt failed", err))
    ))),
    retryRetryable(deps.backfill)
  )
}

export interface CommandResult {
  readonly status: CommandStatus
  readonly effectiveLayer: Layer
  readonly tasks: number
  /** Rows moved from the cold tier to the hot one (held already, not fetched). */
  readonly warmed: number
}

/** Rows held cold inside each target's hot window → hot; the rows moved. */
const warmTargets = (deps: ExecuteDeps, symbol: string, targets: readonly Target[]): Effect.Effect<number, InfrastructureError> =>
  Effect.tryPromise({
    try: async () => {
      let rows = 0
      for (const t of targets) rows += (await warmUp({ sql: deps.sql, store: deps.store }, t.kind, { symbol, interval: t.interval }, t.hotFrom)).rows
      return rows
    },
    catch: (e) => tierError("warm up held rows", e)
  })

/** Plan, run the first task, plan again … until the command owes nothing. */
export const executeCommand = (deps: ExecuteDeps, cmd: BackfillCommand): Effect.Effect<CommandResult, TaskError> =>
  Effect.gen(function* () {
    let tasks = 0
    let warmed: number | undefined
    for (;;) {
      const current = yield* tracked(deps.stall, "read the symbol's layer", currentLayer(deps.redis, deps.snapshotsKey, cmd.symbol))
      const layer = effectiveLayer(cmd.layer, current, cmd.cause === MANUAL_CAUSE)
      const targets = owedTargets(deps.policy, layer, cmd.dataTypes, cmd.at)
      warmed ??= yield* tracked(deps.stall, "warm up held rows", warmTargets(deps, cmd.symbol, targets))
      const coverage = yield* tracked(deps.stall, "read coverage", coverageFor(deps.sql, cmd.symbol, targets))
      const planned = tasksFor(cmd.symbol, targets, coverage, deps.backfill.chunk_days, cmd.priority)
      const todo = planned.filter((t) => deps.provider.supports(t.kind, t.interval))
      yield* tracked(deps.stall, "record the plan", tryPostgres("record the plan", () => setPlanned(deps.sql, cmd.id, todo.length, planned.length - todo.length, layer)))
      const next = todo[0]
      if (!next) {
        const status: CommandStatus = layer === cmd.layer ? "done" : targets.length === 0 ? "cancelled" : "shrunk"
        return { status, effectiveLayer: layer, tasks, warmed }
      }
      yield* runTask(deps, cmd.id, next)
      tasks++
    }
  })
