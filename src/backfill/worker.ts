/**
 * A worker fiber on every partition's `strata:{p}:backfill`, consumer group
 * `strata-workers`: take one command at a time — on each partition in turn (rotation.ts),
 * first any entry left pending longer than `claim_idle_ms` by a silent consumer, else a
 * new one (streams/consumer.ts) — carry it out, then acknowledge it. Everything done for
 * an entry uses the keys of the partition it came from (claims, acks, dead letters, the
 * symbol's snapshot); a command whose symbol belongs to another partition
 * (streams/partition.ts) is dead-lettered there, never carried out. While it works, a heartbeat checks and extends its claim in one script: if another
 * worker took the entry, this one stops; if the entry left the stream, the command fails.
 * Outcomes: done/shrunk/cancelled → XACK; Terminal error, undecodable entry, more than
 * `max_deliveries` deliveries, or an entry removed from the stream (XDEL, trimming) while
 * pending → the dead-letter stream (dead-letter.ts) and progress `dead`, then XACK;
 * a Retryable error left after the retries → left pending, so a later reclaim retries it.
 * Work that settles no step for `stall_ms` (stall.ts: a statement that never returns) is
 * given up: the heartbeat stops with it, the claim lapses after `claim_idle_ms`, and a
 * reclaim delivers the command again. The worker's own statements (start, finish, sweep)
 * are bounded by `stall_ms` as well, so no PostgreSQL call can hold a worker for ever.
 * On shutdown the entry in hand is marked idle, so another worker reclaims it at once.
 * A progress write that only informs (a failed attempt's counters) may fail without
 * failing the work; each such failure is counted (`WorkerCounters`) and logged.
 * Does not plan or fetch: execute.ts does.
 */
import { hostname } from "node:os"
import { Data, Duration, Effect, Schedule } from "effect"
import type { Redis } from "../services/redis.ts"
import type { Logger } from "../services/logger.ts"
import { claimStale, ensureGroup, entryStates, extendClaim, handBack, pollNew, readNew, type ClaimedEntry } from "../../streams/consumer.ts"
import { GROUPS, type PartitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { decodeCommand, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { postgresError, StepError, tryPostgres, tryRedis, type PostgresError } from "../services/errors.ts"
import { deadLetterFields } from "../../streams/backfill-dead-letter.ts"
import { executeCommand, type ExecuteDeps, type TaskError } from "./execute.ts"
import { attemptFailed, entryRemoved, finishCommand, lastError, startCommand, unfinishedEntries } from "./progress.ts"
import { advance, newRotation, visitOrder, type Rotation } from "./rotation.ts"
import { newStallClock, tracked, watchdog, type WorkStalled } from "./stall.ts"

/** What went wrong without stopping a worker, for logs and metrics. */
export interface WorkerCounters {
  /** Informational progress writes that failed (the work went on). */
  progressWriteFailures: number
  /** Heartbeats that could not reach Redis (the next one tries again). */
  heartbeatFailures: number
  /** Shutdown hand-overs (mark idle) that could not reach Redis (reclaimed by idle time instead). */
  handOverFailures: number
  /** Entries that left the stream before they were settled, dead-lettered. */
  removedEntries: number
  /** Failures of the rate limiter's Redis traffic (rate-limit.ts), its connection's error events included. */
  limiterFailures: number
  /** Commands given up because their work made no progress for `stall_ms`. */
  stalledCommands: number
}

export const newCounters = (): WorkerCounters => ({ progressWriteFailures: 0, heartbeatFailures: 0, handOverFailures: 0, removedEntries: 0, limiterFailures: 0, stalledCommands: 0 })

export interface WorkerDeps extends Omit<ExecuteDeps, "snapshotsKey"> {
  /** Every partition's keys, indexed by partition (`partitionKeys(prefix, p, count)`). */
  readonly partitions: readonly PartitionKeys[]
  readonly log: Logger
  readonly counters: WorkerCounters
}

/** The entry in hand is no longer this worker's: another consumer took it, it was acknowledged, or it left the stream. */
export class EntryLost extends Data.TaggedError("EntryLost")<{ readonly status: "taken" | "released" | "gone"; readonly message: string }> {}

/** What ends a command's work early, and what the worker then does with its entry. */
export type WorkFailure = TaskError | EntryLost | WorkStalled

export type Settlement =
  /** The command ends dead: a dead letter with `reason`, progress `dead`, then XACK. */
  | { readonly kind: "dead-letter"; readonly reason: string; readonly error: string }
  /** Another consumer has the entry (or it was acknowledged): leave it alone. */
  | { readonly kind: "taken-over" }
  /** Retries used up on a passing failure: leave it pending, a reclaim retries it. */
  | { readonly kind: "leave-pending"; readonly error: string }
  /** The work made no progress for `stall_ms`: stop beating, so the claim lapses and a reclaim retries it. */
  | { readonly kind: "give-up-stalled"; readonly error: string }

/** The decision, read from the failure's tag. */
export const settlement = (err: WorkFailure): Settlement => {
  switch (err._tag) {
    case "EntryLost":
      return err.status === "gone" ? { kind: "dead-letter", reason: REMOVED_REASON, error: err.message } : { kind: "taken-over" }
    case "Terminal":
      return { kind: "dead-letter", reason: "terminal error", error: `${err._tag}: ${err.message}` }
    case "WorkStalled":
      return { kind: "give-up-stalled", error: `${err._tag}: ${err.message}` }
    case "Retryable":
    case "RateLimited":
    case "RedisError":
    case "PostgresError":
    case "ObjectStoreError":
      return { kind: "leave-pending", error: `${err._tag}: ${err.message}` }
  }
}

export const consumerName = (index: number): string => `${hostname()}-${process.pid}-${index}`

export const REMOVED_REASON = "removed from the stream"
export const WRONG_PARTITION_REASON = "wrong partition"

/** An entry taken from one partition's stream, with that partition's keys. */
interface Taken extends ClaimedEntry {
  readonly keys: PartitionKeys
}

/** The partition a command's symbol belongs to, among the install's. */
const partitionOf = (deps: WorkerDeps, symbol: string): number => symbolPartition(symbol, deps.partitions.length)

const removedError = (id: string, when: string) =>
  `entry ${id} was removed from the stream (trimmed or deleted) ${when}`

const deadLetter = async (redis: Redis, taken: Taken, reason: string, error: string): Promise<void> => {
  await redis.multi()
    .xadd(taken.keys.backfillDead, "*", ...deadLetterFields(reason, taken.id, error, taken.deliveries, taken.fields))
    .xack(taken.keys.backfill, GROUPS.workers, taken.id)
    .exec()
}

/**
 * An entry that was pending but is gone from the stream: its command (known by the entry
 * ID it was started with) goes dead, and a dead letter records it; nothing of the input
 * is left to copy. The dead letter is written only by whoever marked the command dead.
 */
const settleRemoved = async (
  redis: Redis, deps: WorkerDeps, keys: PartitionKeys, id: string, when: string, known: "command known" | "maybe unknown"
): Promise<void> => {
  const error = removedError(id, when)
  // Entry IDs of different partitions' streams may coincide: only this partition's command is meant.
  const command = await entryRemoved(deps.sql, id, error, (symbol) => partitionOf(deps, symbol) === keys.partition)
  // Found by its command, which another worker has settled meanwhile: nothing more to write.
  if (!command && known === "command known") return
  const named = command ? `${error} (command ${command.command_id})` : error
  await deadLetter(redis, { id, fields: [], deliveries: command?.deliveries ?? 0, keys }, REMOVED_REASON, named)
  deps.counters.removedEntries++
  deps.log.warn({ entry: id, command: command?.command_id, error: named }, "backfill command dead-lettered: its entry left the stream")
}

/** Unfinished commands looked at per sweep. */
const SWEEP_LIMIT = 1000

/**
 * Unfinished commands whose entry is neither in the stream nor pending were removed where
 * nothing else notices: queued (registered by the CLI) and trimmed before any worker read
 * them (XAUTOCLAIM sees only pending entries), or reported deleted by XAUTOCLAIM to a
 * worker that could not record it (the report is not repeated). Look them up by entry ID
 * and settle each as removed. An entry still pending is left to its worker or a reclaim.
 */
export const sweepRemoved = async (redis: Redis, deps: WorkerDeps): Promise<number> => {
  const unfinished = await unfinishedEntries(deps.sql, SWEEP_LIMIT)
  if (unfinished.length === 0) return 0
  let removed = 0
  // Each command's entry is looked for in its own partition's stream.
  for (const keys of deps.partitions) {
    const mine = unfinished.filter((u) => partitionOf(deps, u.symbol) === keys.partition)
    if (mine.length === 0) continue
    const states = await entryStates(redis, keys.backfill, GROUPS.workers, mine.map((u) => u.entry_id))
    for (const [i, u] of mine.entries()) {
      const state = states[i]
      if (state && !state.present && !state.pending) {
        await settleRemoved(redis, deps, keys, u.entry_id, u.status === "queued" ? "before any worker read it" : "before it was carried out", "command known")
        removed++
      }
    }
  }
  return removed
}

/**
 * One entry of one partition for this consumer: a stale pending one first, else a new
 * one (blocking up to `block_ms` when `block`, else not waiting).
 */
const takeFrom = async (
  redis: Redis, control: Redis, deps: WorkerDeps, keys: PartitionKeys, consumer: string, block: boolean
): Promise<Taken | undefined> => {
  const stream = keys.backfill
  const stale = await claimStale(redis, stream, GROUPS.workers, consumer, deps.backfill.claim_idle_ms, 1)
  for (const id of stale.deleted) await settleRemoved(control, deps, keys, id, "before it was carried out", "maybe unknown")
  const fresh = stale.entries[0] ?? (block
    ? (await readNew(redis, stream, GROUPS.workers, consumer, 1, deps.backfill.block_ms))[0]
    : (await pollNew(redis, stream, GROUPS.workers, consumer, 1))[0])
  return fresh && { ...fresh, keys }
}

/** One entry for this consumer from the partitions in the rotation's order (rotation.ts); the last one visited blocks. */
const take = async (
  redis: Redis, control: Redis, deps: WorkerDeps, consumer: string, rotation: Rotation
): Promise<Taken | undefined> => {
  const count = deps.partitions.length
  const order = visitOrder(rotation, count)
  for (const [k, p] of order.entries()) {
    const keys = deps.partitions[p]
    if (!keys) continue
    const taken = await takeFrom(redis, control, deps, keys, consumer, k === order.length - 1)
    if (taken) {
      advance(rotation, count, p)
      return taken
    }
  }
  advance(rotation, count, undefined)
  return undefined
}

/** Keep the entry ours while we work on it (one check-and-extend script); fail when it is not ours any more. */
const heartbeat = (redis: Redis, deps: WorkerDeps, keys: PartitionKeys, consumer: string, id: string) =>
  tryRedis("extend the claim", () => extendClaim(redis, keys.backfill, GROUPS.workers, consumer, id)).pipe(
    Effect.flatMap((r) => {
      switch (r.status) {
        case "ok": return Effect.void
        case "taken": return Effect.fail(new EntryLost({ status: "taken", message: `entry ${id} was reclaimed by ${r.owner}` }))
        case "released": return Effect.fail(new EntryLost({ status: "released", message: `entry ${id} is no longer pending (acknowledged elsewhere)` }))
        case "gone": return Effect.fail(new EntryLost({ status: "gone", message: removedError(id, "while it was being carried out") }))
      }
    }),
    // Redis away for a moment: the next beat tries again; if the claim lapses meanwhile,
    // another worker may take the entry and the next beat reports it as taken.
    Effect.catchTag("RedisError", (e) => Effect.sync(() => {
      deps.counters.heartbeatFailures++
      deps.log.warn({ entry: id, err: e.message, failures: deps.counters.heartbeatFailures }, "backfill heartbeat failed; retrying on the next beat")
    })),
    Effect.repeat(Schedule.spaced(Duration.millis(Math.max(50, Math.floor(deps.backfill.claim_idle_ms / 3))))),
    Effect.andThen(Effect.never)
  )

/** `self` bounded by `stall_ms`: past it, `onTimeout` fails it (the step is retried, or the entry reclaimed). */
const withinStall = <A, E, E2>(deps: WorkerDeps, self: Effect.Effect<A, E>, onTimeout: (message: string) => E2): Effect.Effect<A, E | E2> =>
  self.pipe(Effect.timeoutOrElse({
    duration: Duration.millis(deps.backfill.stall_ms),
    orElse: () => Effect.fail(onTimeout(`did not settle within stall_ms (${deps.backfill.stall_ms} ms)`))
  }))

/** One of the worker's own statements, bounded by `stall_ms`. */
const boundedPostgres = <A>(deps: WorkerDeps, operation: string, f: () => Promise<A>): Effect.Effect<A, PostgresError> =>
  withinStall(deps, tryPostgres(operation, f), (message) => postgresError(operation, new Error(message)))

/** A worker step that touches both stores (a sweep, a take that settles a removed entry). */
const stepError = (what: string, e: unknown) =>
  new StepError({ loop: `backfill worker: ${what}`, message: e instanceof Error ? e.message : String(e), cause: e })

/** Stopped (shutdown): mark the entry idle so another worker takes it at once. */
const handOver = (control: Redis, deps: WorkerDeps, keys: PartitionKeys, consumer: string, id: string) =>
  Effect.promise(() =>
    handBack(control, keys.backfill, GROUPS.workers, consumer, id, deps.backfill.claim_idle_ms).then(
      () => undefined,
      (err: unknown) => {
        deps.counters.handOverFailures++
        deps.log.warn({ entry: id, err: String(err) }, "backfill entry not handed over on stop; it is reclaimed after claim_idle_ms")
      }
    )
  )

/** The command goes dead with `error`, then to the dead-letter stream (acknowledged). */
const giveUp = (control: Redis, deps: WorkerDeps, taken: Taken, cmd: BackfillCommand | undefined, reason: string, error: string) =>
  Effect.gen(function* () {
    // Progress first: a failed write fails the step and leaves the entry pending, so the
    // command can never end acknowledged while its progress still says running.
    if (cmd) yield* boundedPostgres(deps, "mark the command dead", () => finishCommand(deps.sql, cmd.id, "dead", error))
    yield* tryRedis("write the dead letter", () => deadLetter(control, taken, reason, error))
    deps.log.warn({ entry: taken.id, partition: taken.keys.partition, command: cmd?.id, deliveries: taken.deliveries, reason, error }, "backfill command dead-lettered")
  })

/** Carry out one taken entry and settle it (ack, dead-letter or leave pending). */
const handle = (control: Redis, deps: WorkerDeps, consumer: string, taken: Taken) =>
  Effect.gen(function* () {
    const decoded = decodeCommand(taken.fields)
    if (typeof decoded === "string") return yield* giveUp(control, deps, taken, undefined, "invalid command", `invalid command: ${decoded}`)
    const cmd: BackfillCommand = decoded
    const owner = partitionOf(deps, cmd.symbol)
    if (owner !== taken.keys.partition) {
      // Carried out here, it would read another partition's snapshot and race that partition's own commands.
      const error = `command for ${cmd.symbol} (partition ${owner} of ${deps.partitions.length}) found in partition ${taken.keys.partition}'s stream ${taken.keys.backfill}`
      return yield* giveUp(control, deps, taken, cmd, WRONG_PARTITION_REASON, error)
    }
    if (taken.deliveries > deps.backfill.max_deliveries) {
      const error = (yield* boundedPostgres(deps, "read the last error", () => lastError(deps.sql, cmd.id))) ?? "no error recorded"
      return yield* giveUp(control, deps, taken, cmd, "too many deliveries", error)
    }
    yield* boundedPostgres(deps, "start the command", () => startCommand(deps.sql, cmd, taken.id, taken.deliveries))
    const stall = newStallClock()
    // The finish is part of the work: the heartbeat keeps the claim through it, so no other
    // worker reclaims the entry while this one is still recording its end.
    const work = executeCommand({ ...deps, snapshotsKey: taken.keys.snapshots, stall: stall.clock }, cmd).pipe(
      Effect.tap((r) => tracked(stall.clock, "finish the command", boundedPostgres(deps, "finish the command", () => finishCommand(deps.sql, cmd.id, r.status)))),
      Effect.map((r) => ({ _tag: "Finished" as const, result: r }))
    )
    // Whichever ends first wins: the work, a heartbeat that lost the entry, or the stall bound;
    // the others are interrupted (a stalled statement's promise is left to settle or not).
    const outcome = yield* Effect.raceFirst(work, Effect.raceFirst(heartbeat(control, deps, taken.keys, consumer, taken.id), watchdog(stall, deps.backfill.stall_ms))).pipe(
      Effect.onInterrupt(() => handOver(control, deps, taken.keys, consumer, taken.id)),
      Effect.result
    )
    if (outcome._tag === "Success") {
      const r = outcome.success.result
      yield* tryRedis("acknowledge the entry", () => control.xack(taken.keys.backfill, GROUPS.workers, taken.id))
      deps.log.info({ command: cmd.id, symbol: cmd.symbol, status: r.status, layer: r.effectiveLayer, tasks: r.tasks, warmed: r.warmed }, "backfill command finished")
      return
    }
    const err: WorkFailure = outcome.failure
    const decided = settlement(err)
    switch (decided.kind) {
      case "dead-letter":
        // A failed attempt is already counted (execute.ts); the command ends here.
        if (decided.reason === REMOVED_REASON) deps.counters.removedEntries++
        return yield* giveUp(control, deps, taken, cmd, decided.reason, decided.error)
      case "taken-over":
        deps.log.info({ command: cmd.id, reason: err.message }, "backfill command taken over by another worker")
        return
      case "leave-pending":
        deps.log.warn({ command: cmd.id, deliveries: taken.deliveries, error: decided.error }, "backfill command failed; left for reclaim")
        return
      case "give-up-stalled":
        deps.counters.stalledCommands++
        deps.log.warn({
          command: cmd.id, symbol: cmd.symbol, entry: taken.id, partition: taken.keys.partition, deliveries: taken.deliveries,
          error: decided.error, stalled: deps.counters.stalledCommands
        }, `backfill command stalled; given up, it is delivered again once its claim lapses (claim_idle_ms ${deps.backfill.claim_idle_ms} ms)`)
        // Informational, and bounded: PostgreSQL may be what stalled.
        yield* boundedPostgres(deps, "count the stalled attempt", () => attemptFailed(deps.sql, cmd.id, decided.error)).pipe(
          Effect.catchTag("PostgresError", (e) => Effect.sync(() => deps.unsettled("stalled attempt", e)))
        )
    }
  })

/**
 * The fiber: `reads` is this fiber's own connection (its reads block), `control` a shared
 * one for acks and heartbeats. Runs until interrupted; a failed step is retried on `retry`.
 */
export const workerLoop = (
  reads: Redis, control: Redis, deps: WorkerDeps, index: number, retry: Schedule.Schedule<unknown, unknown>
) => {
  const consumer = consumerName(index)
  const rotation = newRotation(index, deps.partitions.length)
  // The first fiber of a process sweeps for removed unfinished commands, once per claim_idle_ms.
  let lastSweep = Number.NEGATIVE_INFINITY
  const sweep = Effect.gen(function* () {
    if (index !== 0 || performance.now() - lastSweep < deps.backfill.claim_idle_ms) return
    yield* withinStall(deps, Effect.tryPromise({ try: () => sweepRemoved(control, deps), catch: (e) => stepError("sweep removed entries", e) }),
      (m) => stepError("sweep removed entries", new Error(m)))
    lastSweep = performance.now()
  })
  const step = Effect.gen(function* () {
    yield* sweep
    // Bounded beyond the blocking read: a take may settle a removed entry in PostgreSQL.
    const taken = yield* Effect.tryPromise({ try: () => take(reads, control, deps, consumer, rotation), catch: (e) => stepError("take an entry", e) }).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(deps.backfill.stall_ms + deps.backfill.block_ms),
        orElse: () => Effect.fail(stepError("take an entry", new Error(`did not settle within stall_ms + block_ms (${deps.backfill.stall_ms + deps.backfill.block_ms} ms)`)))
      })
    )
    if (taken) yield* handle(control, deps, consumer, taken)
  })
  return Effect.gen(function* () {
    for (const keys of deps.partitions) yield* tryRedis("create the group", () => ensureGroup(control, keys.backfill, GROUPS.workers))
    deps.log.info({ consumer, partitions: deps.partitions.length, stream: deps.partitions[0]?.backfill }, "backfill worker running")
    yield* step.pipe(
      Effect.tapError((e) => Effect.sync(() => deps.log.warn({ consumer, err: `${e._tag}: ${e.message}` }, "backfill worker step failed, retrying"))),
      Effect.retry(retry),
      Effect.forever
    )
  })
}
