/**
 * One batch of scores entries through the lifecycle machine: decode each entry (or reject
 * it with a reason), step its symbol's actor, advance the stream time and step the actors
 * it made stale (stream-clock.ts), and collect everything the atomic step must write.
 * Pure and synchronous: the live engine, replay and the bench all call it, so they
 * produce the same outputs for the same input whatever the batch boundaries.
 */
import type { RetentionPolicy } from "../../config/schema.ts"
import type { Lifecycle, LifecycleState } from "../../machines/lifecycle.ts"
import { encodeActor } from "../../machines/snapshot-codec.ts"
import { commandFields } from "../../streams/backfill-wire.ts"
import { deadLetterFields } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { lifecycleFields, type Transition } from "../../streams/lifecycle-wire.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { decodeScoresEntry, type DecodeLimits } from "../../streams/scores-wire.ts"
import { owedCommand } from "./outputs.ts"
import { StaleRun, type StreamClock } from "./stream-clock.ts"

export interface BatchContext {
  readonly lifecycle: Lifecycle
  readonly scoreNames: readonly string[]
  readonly retention: RetentionPolicy
  readonly limits: DecodeLimits
  /** The current snapshot of a symbol (the initial one when it was never seen). */
  readonly snapshotOf: (symbol: string) => LifecycleState
  /**
   * Why a symbol's stored snapshot cannot be read, when it cannot: its entries are
   * dead-lettered with that reason and the stored snapshot is left as it is.
   */
  readonly refusedSnapshot?: (symbol: string) => string | undefined
  /** Stream time and staleness index as of the last applied batch; read, never changed here. */
  readonly clock: StreamClock
  /**
   * The partition this batch's stream belongs to, in an install of more than one: an entry
   * for a symbol of another partition (a producer that hashed it wrongly) is dead-lettered,
   * since its actor is another owner's.
   */
  readonly partition?: { readonly partition: number; readonly count: number }
}

export interface BatchOutputs {
  readonly ids: string[]
  /** States of the actors this batch changed, after the batch (their stored shape). */
  readonly snapshots: Map<string, LifecycleState>
  readonly transitions: Transition[]
  readonly lifecycle: string[][]
  readonly backfill: string[][]
  readonly dead: string[][]
  readonly applied: number
  readonly late: number
  /** Stale events applied (each a demotion, or a reset of a symbol still in its dwell). */
  readonly stale: number
  /** The stream time after the batch. */
  readonly streamTime: number | null
}

export const processBatch = (entries: readonly StreamEntry[], ctx: BatchContext): BatchOutputs => {
  const out: BatchOutputs = {
    ids: [], snapshots: new Map(), transitions: [], lifecycle: [], backfill: [], dead: [], applied: 0, late: 0, stale: 0, streamTime: null
  }
  let late = 0
  let applied = 0
  let stale = 0
  let streamTime = ctx.clock.streamTime
  const index = ctx.clock.index
  const run = index === undefined ? undefined : new StaleRun(ctx.lifecycle, { ...ctx.clock, index }, entries)
  const current = (symbol: string) => out.snapshots.get(symbol) ?? ctx.snapshotOf(symbol)
  const publish = (t: Transition) => {
    out.transitions.push(t)
    out.lifecycle.push(lifecycleFields(t, ctx.scoreNames))
    const command = owedCommand(t, ctx.retention)
    if (command) out.backfill.push(commandFields(command))
  }
  for (const entry of entries) {
    out.ids.push(entry.id)
    const decoded = decodeScoresEntry(entry.id, entry.fields, ctx.limits)
    if (!decoded.ok) {
      out.dead.push(deadLetterFields(entry, decoded.reason))
      continue
    }
    if (ctx.partition !== undefined) {
      const home = symbolPartition(decoded.symbol, ctx.partition.count)
      if (home !== ctx.partition.partition) {
        out.dead.push(deadLetterFields(entry, `wrong partition: ${decoded.symbol} belongs to partition ${home} of ${ctx.partition.count}, not ${ctx.partition.partition}`))
        continue
      }
    }
    const refused = ctx.refusedSnapshot?.(decoded.symbol)
    if (refused !== undefined) {
      out.dead.push(deadLetterFields(entry, `stored snapshot of ${decoded.symbol} unreadable: ${refused}`))
      continue
    }
    const step = ctx.lifecycle.step(current(decoded.symbol), { type: "score", at: decoded.at, cause: entry.id, scores: decoded.scores })
    // The step's result may be reused by the next step (the pure one's is): keep its state.
    const state = step.state
    out.snapshots.set(decoded.symbol, state)
    if (step.late) {
      // Older than its symbol's last event, so older than the stream time: nothing moves.
      late++
      continue
    }
    applied++
    if (step.from !== step.to) {
      publish({ symbol: decoded.symbol, from: step.from, to: step.to, at: decoded.at, cause: entry.id, scores: state.context.scores })
    }
    if (streamTime === null || decoded.at > streamTime) streamTime = decoded.at
    if (run === undefined) continue
    run.touched(decoded.symbol, state)
    for (const s of run.expire(streamTime, entry.id, current)) {
      out.snapshots.set(s.symbol, s.after)
      stale++
      const from = s.before.layer
      const to = s.after.layer
      if (from !== to) publish({ symbol: s.symbol, from, to, at: streamTime, cause: s.cause, scores: s.after.context.scores })
    }
  }
  return { ...out, applied, late, stale, streamTime }
}

/** The stored form (snapshot-codec.ts) of the batch's changed snapshots, as HSET arguments. */
export const snapshotArgs = (snapshots: Map<string, LifecycleState>, encode = encodeActor): string[] => {
  const args: string[] = []
  for (const [symbol, state] of snapshots) args.push(symbol, encode(state))
  return args
}
