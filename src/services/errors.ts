/**
 * The tagged errors of the infrastructure calls: a failed Redis command, PostgreSQL query
 * or object store request becomes a value whose `_tag` names the store and whose
 * `operation` names what was being done, so a caller decides with `catchTag` (retry a
 * heartbeat, leave a command pending) instead of guessing from an untyped throw.
 * `tryRedis` and friends wrap one promise-returning call each, as Effect's platform
 * packages wrap every client call.
 * Does not decide what to do about a failure: the loops and the worker do.
 */
import { Data, Effect } from "effect"

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

export class RedisError extends Data.TaggedError("RedisError")<{
  readonly operation: string
  readonly message: string
  readonly cause: unknown
}> {}

export class PostgresError extends Data.TaggedError("PostgresError")<{
  readonly operation: string
  readonly message: string
  readonly cause: unknown
}> {}

export class ObjectStoreError extends Data.TaggedError("ObjectStoreError")<{
  readonly operation: string
  readonly message: string
  readonly cause: unknown
}> {}

/** A loop step (ingest, projector, a sampler) touches several stores; this says which loop failed. */
export class StepError extends Data.TaggedError("StepError")<{
  readonly loop: string
  readonly message: string
  readonly cause: unknown
}> {}

export type InfrastructureError = RedisError | PostgresError | ObjectStoreError

export const isInfrastructureError = (e: { readonly _tag: string }): e is InfrastructureError =>
  e._tag === "RedisError" || e._tag === "PostgresError" || e._tag === "ObjectStoreError"

export const redisError = (operation: string, e: unknown): RedisError => new RedisError({ operation, message: messageOf(e), cause: e })
export const postgresError = (operation: string, e: unknown): PostgresError => new PostgresError({ operation, message: messageOf(e), cause: e })
export const objectStoreError = (operation: string, e: unknown): ObjectStoreError => new ObjectStoreError({ operation, message: messageOf(e), cause: e })

/**
 * A failure of a write that spans both tiers (rows to PostgreSQL, objects to the lake):
 * the AWS SDK marks its errors with `$metadata` and the file system with `syscall`;
 * anything else came from PostgreSQL.
 */
export const tierError = (operation: string, e: unknown): PostgresError | ObjectStoreError =>
  typeof e === "object" && e !== null && ("$metadata" in e || "syscall" in e) ? objectStoreError(operation, e) : postgresError(operation, e)

export const tryRedis = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, RedisError> =>
  Effect.tryPromise({ try: f, catch: (e) => redisError(operation, e) })

export const tryPostgres = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, PostgresError> =>
  Effect.tryPromise({ try: f, catch: (e) => postgresError(operation, e) })

export const tryObjectStore = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, ObjectStoreError> =>
  Effect.tryPromise({ try: f, catch: (e) => objectStoreError(operation, e) })
