/**
 * The stall bound of a command's work: the work reports each step it begins and each
 * step that settles (a statement, a fetch, a write, success or failure alike), and a
 * watchdog beside it fails with `WorkStalled` once nothing has settled for `stall_ms`.
 * Why a bound on progress rather than a timeout per call: a statement on a connection
 * that died without an error (a paused or unreachable server, a connect that never
 * completes) waits for ever, and no layer below says so; the heartbeat would keep the
 * claim alive all that time. A command that moves slowly but moves (rate-limited
 * fetches, retries) is never given up.
 * Does not decide what happens to the command: worker.ts settles `WorkStalled`.
 */
import { Data, Duration, Effect, Schedule } from "effect"

/** The command's work settled no step for `stall_ms`: its worker gives it up. */
export class WorkStalled extends Data.TaggedError("WorkStalled")<{
  readonly message: string
  /** The step begun last, the one that never settled. */
  readonly step: string
  readonly idleMs: number
}> {}

/** What the work reports as it goes; `settled` counts as progress. */
export interface StallClock {
  readonly begin: (step: string) => void
  readonly settled: () => void
}

export interface ClockState {
  lastProgressMs: number
  step: string
}

/** How long the work has been without progress at `nowMs`, when that is more than the bound; else undefined. */
export const stalledFor = (state: Readonly<ClockState>, nowMs: number, boundMs: number): number | undefined => {
  const idle = nowMs - state.lastProgressMs
  return idle >= boundMs ? idle : undefined
}

/** How often the watchdog looks: often enough to give up within a quarter of the bound past it, at most once a second. */
export const checkEveryMs = (boundMs: number): number => Math.max(10, Math.min(1000, Math.floor(boundMs / 4)))

/** A clock started now (monotonic time) and the state it moves. */
export const newStallClock = (now: () => number = () => performance.now()): { readonly clock: StallClock; readonly state: ClockState; readonly now: () => number } => {
  const state: ClockState = { lastProgressMs: now(), step: "start" }
  return {
    state,
    now,
    clock: {
      begin: (step) => { state.step = step },
      settled: () => { state.lastProgressMs = now() }
    }
  }
}

/** Wrap one step of the work: it is reported as begun, and its end (success or failure) as progress. */
export const tracked = <A, E, R>(clock: StallClock | undefined, step: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  clock === undefined
    ? self
    : Effect.suspend(() => {
      clock.begin(step)
      return self
    }).pipe(Effect.ensuring(Effect.sync(() => clock.settled())))

/** Fails with `WorkStalled` once the clock has seen no progress for `boundMs`; never succeeds. */
export const watchdog = (started: ReturnType<typeof newStallClock>, boundMs: number): Effect.Effect<never, WorkStalled> =>
  Effect.suspend(() => {
    const idle = stalledFor(started.state, started.now(), boundMs)
    return idle === undefined
      ? Effect.void
      : Effect.fail(new WorkStalled({
        step: started.state.step, idleMs: Math.round(idle),
        message: `no progress for ${Math.round(idle)} ms (stall_ms ${boundMs}) while waiting on: ${started.state.step}`
      }))
  }).pipe(
    Effect.repeat(Schedule.spaced(Duration.millis(checkEveryMs(boundMs)))),
    Effect.andThen(Effect.never)
  )
