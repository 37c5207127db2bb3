/**
 * The start-up check every engine and worker process runs before it touches a partition:
 * the install record (streams/install-record.ts) must say the install has the configured
 * partition count and no move to another count is under way. A refusal is a configuration
 * error naming the fix (the process exits with it); Redis failing is a Redis error.
 */
import { Effect } from "effect"
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { configError } from "../../config/load.ts"
import { checkInstall } from "../../streams/install-record.ts"
import { redisError } from "../services/errors.ts"

export const installGuard = (redis: Redis, config: Config) =>
  Effect.gen(function* () {
    const refusal = yield* Effect.tryPromise({
      try: () => checkInstall(redis, config.redis.prefix, config.partitions),
      catch: (e) => redisError("check the install record", e)
    })
    if (refusal !== undefined) return yield* Effect.fail(configError([refusal]))
  })
