/**
 * Waiting for a condition another process brings about (a server to answer, a projector
 * to catch up): the check is retried on an Effect schedule until it holds or the time is
 * up. Used by one-shot commands and process management, never on an engine hot path.
 */
import { Effect, Schedule } from "effect"

class NotYet extends Error {}

export class PollTimeout extends Error {
  override readonly name = "PollTimeout"
}

/**
 * Resolve once `check` returns true; reject with PollTimeout naming `what` after
 * `timeoutMs` (no limit when undefined: the check itself then decides when to give up,
 * by throwing, which fails the wait at once).
 */
export const pollUntil = (
  what: string, check: () => boolean | Promise<boolean>, timeoutMs: number | undefined, everyMs = 50
): Promise<void> => {
  const polled = Effect.tryPromise({
    try: async () => {
      if (!(await check())) throw new NotYet()
    },
    catch: (e) => e
  }).pipe(
    // Only "not yet" is retried.
    Effect.retry({ schedule: Schedule.spaced(`${everyMs} millis`), while: (e) => e instanceof NotYet })
  )
  return Effect.runPromise(
    (timeoutMs === undefined ? polled : polled.pipe(Effect.timeout(`${timeoutMs} millis`))).pipe(
      Effect.mapError((e) => (e instanceof NotYet || (e as { _tag?: string })._tag === "TimeoutError"
        ? new PollTimeout(`timed out after ${timeoutMs} ms waiting for ${what}`)
        : e))
    )
  )
}
