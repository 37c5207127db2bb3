/**
 * A worker fiber on `strata:{p}:backfill`, consumer group `strata-workers`: take one
 * command at a time — first any entry left pending longer than `claim_idle_ms` by a
 * silent consumer (XAUTOCLAIM), else a new one — carry it out, then acknowledge it.
 * While it works, a heartbeat re-claims the entry (XCLAIM JUSTID: idle reset, delivery
 * count unchanged) so a live worker's long command is not taken from it; if another
 * worker took it anyway, this one stops.
 * Outcomes: done/shrunk/cancelled → XACK; Terminal error, undecodable entry, or more than
 * `max_deliveries` deliveries → the dead-letter stream (original fields + error) and XACK;
 * a Retryable error left after the retries → left pending, so a later reclaim retries it.
 * On shutdown the entry in hand is marked idle, so another worker reclaims it at once.
 * Does not plan or fetch: execute.ts does.
 */
import { hostname } from "node:os"
import { Duration, Effect, Schedule } from "effect"
import type { Redis } from "../services/redis.ts"
import type { Logger } from "../services/logger.ts"
import { ensureGroup } from "../../streams/consumer.ts"
import { GROUPS, type PartitionKeys } from "../../streams/keys.ts"
import { decodeCommand, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { Terminal, type FetchError } from "./errors.ts"
import { executeCommand, type ExecuteDeps } from "./execute.ts"
import { attemptFailed, finishCommand, lastError, startCommand } from "./progress.ts"

export interface WorkerDeps extends ExecuteDeps {
  readonly keys: PartitionKeys
  readonly log: Logger
}

interface Taken {
  readonly id: string
  readonly fields: string[]
  readonly deliveries: number
}

type Reply = [string, string[] | null][]

export const consumerName = (index: number): string => `${hostname()}-${process.pid}-${index}`

/** Delivery count of a pending entry (0 when it is no longer pending). */
const deliveriesOf = async (redis: Redis, stream: string, id: string): Promise<{ deliveries: number; consumer?: string }> => {
  const rows = (await redis.xpending(stream, GROUPS.workers, id, id, 1)) as [string, string, number, number][]
  const row = rows[0]
  return row ? { deliveries: Number(row[3]), consumer: row[1] } : { deliveries: 0 }
}

/** One entry for this consumer: a stale pending one first, else a new one (blocking). */
const take = async (redis: Redis, deps: WorkerDeps, consumer: string): Promise<Taken | undefined> => {
  const stream = deps.keys.backfill
  const claimed = (await redis.xautoclaim(stream, GROUPS.workers, consumer, deps.backfill.claim_idle_ms, "0-0", "COUNT", 1)) as [string, Reply, string[]?]
  for (const [id, fields] of claimed[1] ?? []) {
    if (!fields) continue
    const { deliveries } = await deliveriesOf(redis, stream, id)
    return { id, fields, deliveries }
  }
  const read = (await redis.xreadgroup("GROUP", GROUPS.workers, consumer, "COUNT", 1, "BLOCK", deps.backfill.block_ms, "STREAMS", stream, ">")) as
    [string, Reply][] | null
  const entry = read?.[0]?.[1]?.[0]
  if (!entry || !entry[1]) return undefined
  return { id: entry[0], fields: entry[1], deliveries: 1 }
}

const deadLetter = async (redis: Redis, deps: WorkerDeps, taken: Taken, error: string): Promise<void> => {
  await redis.multi()
    .xadd(deps.keys.backfillDead, "*", ...taken.fields, "error", error.slice(0, 2000), "deliveries", String(taken.deliveries), "source_id", taken.id)
    .xack(deps.keys.backfill, GROUPS.workers, taken.id)
    .exec()
}

class LostEntry extends Error {}

/** Keep the entry ours while we work on it; fail when another consumer has it. */
const heartbeat = (redis: Redis, deps: WorkerDeps, consumer: string, id: string) =>
  Effect.tryPromise({
    try: async () => {
      const { consumer: owner } = await deliveriesOf(redis, deps.keys.backfill, id)
      if (owner !== undefined && owner !== consumer) throw new LostEntry(`entry ${id} was reclaimed by ${owner}`)
      await redis.xclaim(deps.keys.backfill, GROUPS.workers, consumer, 0, id, "JUSTID")
    },
    catch: (e) => e
  }).pipe(
    Effect.catchIf((e): e is unknown => !(e instanceof LostEntry), () => Effect.void),
    Effect.repeat(Schedule.spaced(Duration.millis(Math.max(50, Math.floor(deps.backfill.claim_idle_ms / 3))))),
    Effect.andThen(Effect.never)
  )

/** Carry out one taken entry and settle it (ack, dead-letter or leave pending). */
const handle = (redis: Redis, control: Redis, deps: WorkerDeps, consumer: string, taken: Taken) =>
  Effect.gen(function* () {
    const decoded = decodeCommand(taken.fields)
    if (typeof decoded === "string") {
      yield* Effect.promise(() => deadLetter(control, deps, taken, `invalid command: ${decoded}`))
      deps.log.warn({ entry: taken.id, reason: decoded }, "backfill command dead-lettered")
      return
    }
    const cmd: BackfillCommand = decoded
    if (taken.deliveries > deps.backfill.max_deliveries) {
      const error = (yield* Effect.promise(() => lastError(deps.sql, cmd.id).catch(() => undefined))) ?? "no error recorded"
      yield* Effect.promise(() => finishCommand(deps.sql, cmd.id, "dead", error).catch(() => {}))
      yield* Effect.promise(() => deadLetter(control, deps, taken, error))
      deps.log.warn({ command: cmd.id, deliveries: taken.deliveries, error }, "backfill command dead-lettered after too many deliveries")
      return
    }
    yield* Effect.tryPromise(() => startCommand(deps.sql, cmd, taken.id, taken.deliveries))
    const work = executeCommand(deps, cmd).pipe(
      Effect.map((r) => ({ _tag: "Finished" as const, result: r }))
    )
    const outcome = yield* Effect.raceFirst(work, heartbeat(control, deps, consumer, taken.id)).pipe(
      // Stopped (shutdown): mark the entry idle so another worker takes it at once.
      Effect.onInterrupt(() => Effect.promise(() =>
        control.xclaim(deps.keys.backfill, GROUPS.workers, consumer, 0, taken.id, "IDLE", deps.backfill.claim_idle_ms, "JUSTID").catch(() => [])
      )),
      Effect.result
    )
    if (outcome._tag === "Success") {
      const r = outcome.success.result
      yield* Effect.tryPromise(() => finishCommand(deps.sql, cmd.id, r.status))
      yield* Effect.tryPromise(() => control.xack(deps.keys.backfill, GROUPS.workers, taken.id))
      deps.log.info({ command: cmd.id, symbol: cmd.symbol, status: r.status, layer: r.effectiveLayer, tasks: r.tasks }, "backfill command finished")
      return
    }
    const err = outcome.failure as FetchError | LostEntry
    if (err instanceof LostEntry) {
      deps.log.info({ command: cmd.id, reason: err.message }, "backfill command taken over by another worker")
      return
    }
    if (err instanceof Terminal) {
      const error = `${err._tag}: ${err.message}`
      yield* Effect.promise(() => attemptFailed(deps.sql, cmd.id, error).catch(() => {}))
      yield* Effect.promise(() => finishCommand(deps.sql, cmd.id, "dead", error).catch(() => {}))
      yield* Effect.tryPromise(() => deadLetter(control, deps, taken, error))
      deps.log.warn({ command: cmd.id, error }, "backfill command dead-lettered (terminal error)")
      return
    }
    // Retryable or RateLimited, retries used up: leave it pending; a reclaim retries it.
    deps.log.warn({ command: cmd.id, deliveries: taken.deliveries, error: `${err._tag}: ${err.message}` }, "backfill command failed; left for reclaim")
  })

/**
 * Forget consumers of the group that hold nothing and have been silent for a long while
 * (processes that stopped or died; each process names its consumers after its pid).
 */
export const forgetIdleConsumers = async (redis: Redis, stream: string, idleMs: number): Promise<number> => {
  const consumers = (await redis.xinfo("CONSUMERS", stream, GROUPS.workers)) as unknown[][]
  let removed = 0
  for (const c of consumers) {
    const m: Record<string, string> = {}
    for (let i = 0; i + 1 < c.length; i += 2) m[String(c[i])] = String(c[i + 1])
    if (Number(m["pending"]) === 0 && Number(m["idle"]) > idleMs && m["name"]) {
      await redis.xgroup("DELCONSUMER", stream, GROUPS.workers, m["name"])
      removed++
    }
  }
  return removed
}

/**
 * The fiber: `reads` is this fiber's own connection (its reads block), `control` a shared
 * one for acks and heartbeats. Runs until interrupted; a failed step is retried on `retry`.
 */
export const workerLoop = (
  reads: Redis, control: Redis, deps: WorkerDeps, index: number, retry: Schedule.Schedule<unknown, unknown>
) => {
  const consumer = consumerName(index)
  const step = Effect.gen(function* () {
    const taken = yield* Effect.tryPromise(() => take(reads, deps, consumer))
    if (taken) yield* handle(reads, control, deps, consumer, taken)
  })
  return Effect.gen(function* () {
    yield* Effect.tryPromise(() => ensureGroup(control, deps.keys.backfill, GROUPS.workers))
    deps.log.info({ consumer, stream: deps.keys.backfill }, "backfill worker running")
    yield* step.pipe(
      Effect.tapError((e) => Effect.sync(() => deps.log.warn({ consumer, err: String(e) }, "backfill worker step failed, retrying"))),
      Effect.retry(retry),
      Effect.forever
    )
  })
}
