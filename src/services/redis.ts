/**
 * The Redis client service: one ioredis connection per concern (blocking reads must not
 * hold up the atomic step), opened and closed as an Effect scoped resource. The layer
 * holds one shared connection for the process's short commands (acks, XADDs, reads of
 * hashes) and opens the others on demand, each closed with the scope that asked for it.
 * On a Redis Cluster (redis-client.ts) each of these is a Cluster client of its own: a
 * blocking read holds its client's connection to the key's master, so a concern that
 * blocks must not share that client with anything else.
 * Does not choose which Redis: the Stores service (infrastructure.ts) does.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { StoresService } from "./infrastructure.ts"
import { LoggerService, type Logger } from "./logger.ts"
import { openRedis, type Redis } from "./redis-client.ts"

export { isCluster, mastersOf, openRedis, Redis } from "./redis-client.ts"

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

export interface RedisConnections {
  /** The URL in use (a private server's when none is configured). */
  readonly url: string
  /** The shared connection, for commands that never block. */
  readonly client: Redis
  /** A connection of its own for one concern (a blocking read, say), closed with the caller's scope. */
  readonly connection: (name: string) => Effect.Effect<Redis, never, Scope.Scope>
}

export class RedisService extends Context.Service<RedisService, RedisConnections>()("strata/Redis") {
  /** Connections to the resolved Redis; the shared one is named `name` (CLIENT LIST shows it). */
  static readonly layer = (name: string): Layer.Layer<RedisService, never, StoresService | LoggerService> =>
    Layer.effect(RedisService, Effect.gen(function* () {
      const { redisUrl } = yield* StoresService
      const log = yield* LoggerService
      const client = yield* scopedRedis(redisUrl, name, log)
      return { url: redisUrl, client, connection: (n: string) => scopedRedis(redisUrl, n, log) }
    }))
}
