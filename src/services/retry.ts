/**
 * The retry schedule of a long-running loop's step (ingest, projector, workers): when
 * Redis or PostgreSQL is away, back off from 50 ms, doubling, jittered, capped at 5 s,
 * for as long as it takes. Steps are atomic or idempotent, so retrying is always safe.
 */
import { Schedule } from "effect"

export const RETRY_STEP = Schedule.min([Schedule.exponential("50 millis").pipe(Schedule.jittered), Schedule.spaced("5 seconds")])
