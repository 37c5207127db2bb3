/**
 * The Redis client service: one ioredis connection per concern (blocking reads must not
 * hold up the atomic step), opened and closed as an Effect scoped resource.
 */
import { Effect } from "effect"
import { Redis } from "ioredis"

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

/** A connection released (QUIT, then disconnect) when its scope closes. */
export const scopedRedis = (url: string, name: string) =>
  Effect.acquireRelease(
    Effect.sync(() => openRedis(url, name)),
    (r) => Effect.promise(() => r.quit().then(() => undefined, () => r.disconnect()))
  )
