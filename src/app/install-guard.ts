/**
 * The start-up check every engine and worker process runs before it touches a partition:
 * the install record (streams/install-record.ts) must say the install has the configured
 * partition count and no move to another count is under way. A refusal is a configuration
 * error naming the fix (the process exits with it); Redis failing is a Redis error.
 * `watchInstall` asks again on a slow cadence, for a process that is not a member of the
 * install (the standalone `strata workers`): a move begun or finished while it runs
 * (`strata partitions migrate`) ends it with the same message, rather than leave it
 * reading the partitions of the count it started with.
 */
import { Effect } from "effect"
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { configError } from "../../config/load.ts"
import { checkInstall, installVerdict, readInstallRecord } from "../../streams/install-record.ts"
import { redisError } from "../services/errors.ts"
import type { Logger } from "../services/logger.ts"

export const installGuard = (redis: Redis, config: Config) =>
  Effect.gen(function* () {
    const refusal = yield* Effect.tryPromise({
      try: () => checkInstall(redis, config.redis.prefix, config.partitions),
      catch: (e) => redisError("check the install record", e)
    })
    if (refusal !== undefined) return yield* Effect.fail(configError([refusal]))
  })

/**
 * Read the install record every `everyMs` and fail, with the start-up check's refusal,
 * once it no longer allows the configured count (a move under way, or done to another
 * count). Reads only: the record was written at start. A read that fails (Redis away) is
 * logged and asked again at the next tick; it ends nothing.
 */
export const watchInstall = (redis: Redis, config: Config, log: Logger, everyMs: number) =>
  Effect.gen(function* () {
    const { prefix } = config.redis
    for (;;) {
      yield* Effect.sleep(everyMs)
      const record = yield* Effect.tryPromise(() => readInstallRecord(redis, prefix)).pipe(
        Effect.catch((e) => Effect.sync(() => {
          log.warn({ err: String((e as { readonly cause?: unknown }).cause ?? e) }, "could not read the install record; asking again later")
          return undefined
        }))
      )
      if (record === undefined) continue
      const verdict = installVerdict(prefix, record, "none", config.partitions)
      if (!verdict.ok) return yield* Effect.fail(configError([verdict.reason]))
    }
  })
