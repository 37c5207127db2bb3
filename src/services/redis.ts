/**
 * The Redis client service: one ioredis connection per concern (blocking reads must not
 * hold up the atomic step), opened and closed as an Effect scoped resource.
 */
import { Effect } from "effect"
import { Redis } from "ioredis"
import type { Logger } from "./logger.ts"

export { Redis }

export const openRedis = (url: string, name = "strata"): Redis =>
  new Redis(url, {
    connectionName: name,
    // Commands wait for a reconnect instead of failing at once; a step that fails is
    // retried from the group's pending list, so nothing is lost either way.
    maxRetriesPerRequest: 20,
    enableAutoPipelining: false,
    lazyConnect: false
  })

/**
 * A connection released (QUIT, then disconnect) when its scope closes. Connection errors
 * (Redis restarting, say) surface as failed commands, which the loops retry; the error
 * events themselves are only logged at debug level.
 */
export const scopedRedis = (url: string, name: string, log?: Logger) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const r = openRedis(url, name)
      r.on("error", (e: Error) => log?.debug({ connection: name, err: e.message }, "redis connection error"))
      return r
    }),
    (r) => Effect.promise(() => r.quit().then(() => undefined, () => r.disconnect()))
  )
