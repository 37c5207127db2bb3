/**
 * An engine loop as a fiber: one step after another for as long as its scope lives, each
 * failed step logged and retried on the engine's capped, jittered schedule. The steps
 * themselves are atomic or idempotent, so a retry never applies anything twice.
 */
import { Effect } from "effect"
import { StepError } from "../services/errors.ts"
import type { Logger } from "../services/logger.ts"
import { RETRY_STEP } from "../services/retry.ts"

export const loopForever = (name: string, once: () => Promise<number>, log: Logger) =>
  Effect.tryPromise({ try: once, catch: (e) => new StepError({ loop: name, message: e instanceof Error ? e.message : String(e), cause: e }) }).pipe(
    Effect.tapError((e) => Effect.sync(() => log.warn({ loop: name, err: e.message }, "step failed, retrying"))),
    Effect.retry(RETRY_STEP),
    Effect.forever
  )
