/**
 * Stream time and staleness of one partition, as processBatch uses them. The stream time
 * is the greatest event time the partition has applied (a watermark, never the wall
 * clock); a symbol whose staleness deadline (machines/rules.ts `staleDeadline`) the stream
 * time reaches gets a stale event: it has no scores any more and is demoted by the usual
 * rules. The check runs after every applied entry, in stream order, and ties are broken
 * by symbol, so the demotions are the same whatever the batch boundaries.
 *
 * `StreamClock` is what a batch starts from (the committed state: the live engine keeps it
 * in step with Redis, replay in memory); `StaleRun` is one batch's view of it, which never
 * changes the clock: `commitClock` does, once the batch is applied.
 * Pure; no Redis here (ingest.ts reads and rebuilds the clock).
 */
import type { Lifecycle, LifecycleState } from "../../machines/lifecycle.ts"
import { fieldValue, type StreamEntry } from "../../streams/entry.ts"
import { staleCause } from "../../streams/lifecycle-wire.ts"
import { entryIdMs, parseEventTime } from "../domain/time.ts"
import { StaleIndex } from "./stale-index.ts"

export interface StreamClock {
  /** Greatest event time applied; null before the partition's first applied entry. */
  streamTime: number | null
  /** Actors a stale event could demote, by deadline; undefined when staleness is off. */
  readonly index: StaleIndex | undefined
}

export const newStreamClock = (lifecycle: Lifecycle): StreamClock => ({
  streamTime: null,
  index: lifecycle.rules.quiet === null ? undefined : new StaleIndex()
})

export const deadlineOf = (lifecycle: Lifecycle, state: LifecycleState): number | undefined =>
  lifecycle.staleDeadline(state)

/**
 * An upper bound of the event times in `entries`: exact for every entry that decodes
 * (the same `ts`-else-ID rule as streams/scores-wire.ts), possibly larger for one that
 * does not, which only widens the set of candidates.
 */
export const eventTimeBound = (entries: readonly StreamEntry[]): number => {
  let bound = -Infinity
  for (const e of entries) {
    const ts = fieldValue(e.fields, "ts")
    const at = ts === undefined ? entryIdMs(e.id) : parseEventTime(ts)
    if (at !== undefined && at > bound) bound = at
  }
  return bound
}

/**
 * The greatest stream time the batch can reach: its entries' bound, or the stream time
 * already reached (an entry behind it, out of order across symbols, can make its own
 * symbol due at once).
 */
const batchBound = (entries: readonly StreamEntry[], clock: StreamClock): number => {
  const bound = eventTimeBound(entries)
  return clock.streamTime !== null && clock.streamTime > bound ? clock.streamTime : bound
}

/** Symbols the batch may find stale: their actors must be loaded before processBatch runs. */
export const staleCandidates = (entries: readonly StreamEntry[], clock: StreamClock): string[] =>
  clock.index === undefined ? [] : clock.index.dueUpTo(batchBound(entries, clock)).map(([s]) => s)

/** A stale demotion found by a batch, for the caller to publish. */
export interface StaleStep {
  readonly symbol: string
  readonly before: LifecycleState
  readonly after: LifecycleState
  /** `stale:` and the entry ID that moved the stream time past the deadline. */
  readonly cause: string
}

/**
 * One batch's staleness: the committed index's candidates (deadline ≤ the batch's bound)
 * plus the deadlines the batch itself changes. A deadline past the bound cannot come due
 * in this batch (the stream time never passes the bound), so it is left to the commit.
 */
export class StaleRun {
  private readonly due = new StaleIndex()
  private readonly bound: number

  constructor(private readonly lifecycle: Lifecycle, clock: StreamClock & { index: StaleIndex }, entries: readonly StreamEntry[]) {
    this.bound = batchBound(entries, clock)
    for (const [symbol, deadline] of clock.index.dueUpTo(this.bound)) this.due.set(symbol, deadline)
  }

  /** A symbol's actor changed: its deadline moves with it. */
  touched(symbol: string, snapshot: LifecycleState): void {
    const d = deadlineOf(this.lifecycle, snapshot)
    this.due.set(symbol, d !== undefined && d <= this.bound ? d : undefined)
  }

  /**
   * Step every actor whose deadline the stream time has reached, in (deadline, symbol)
   * order, with a stale event at the stream time caused by `entryId`.
   */
  expire(streamTime: number, entryId: string, snapshotOf: (symbol: string) => LifecycleState): StaleStep[] {
    const steps: StaleStep[] = []
    const cause = staleCause(entryId)
    for (let top = this.due.peek(); top !== undefined && top.deadline <= streamTime; top = this.due.peek()) {
      this.due.pop()
      const before = snapshotOf(top.symbol)
      const step = this.lifecycle.step(before, { type: "stale", at: streamTime, cause, scores: {} })
      const after = step.state
      steps.push({ symbol: top.symbol, before, after, cause })
      // Its new deadline is past the stream time (its last event is now), so this ends.
      this.touched(top.symbol, after)
    }
    return steps
  }
}

/** The batch is applied: the clock follows it (stream time, the changed actors' deadlines). */
export const commitClock = (
  clock: StreamClock, lifecycle: Lifecycle, streamTime: number | null, snapshots: ReadonlyMap<string, LifecycleState>
): void => {
  clock.streamTime = streamTime
  if (clock.index === undefined) return
  for (const [symbol, snap] of snapshots) clock.index.set(symbol, deadlineOf(lifecycle, snap))
}
