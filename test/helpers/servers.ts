/**
 * The Redis servers a test body runs against, for `describe.each(SERVERS)`: the run's
 * shared standalone redis-server, or a private 3-master Redis Cluster started for the
 * describe block that asks for it (useRedisCluster). Either way the fixture yields the
 * REDIS_URL an engine process is given (`redis+cluster://seeds` on the Cluster), a client
 * made for it as the engine makes its own (openRedis: a Cluster client on the Cluster),
 * and a stop that closes those clients (and the Cluster's nodes). Namespaces on it come
 * from testNamespace(overrides, server.url()).
 * Does not start the standalone server: the run's global setup does.
 */
import { afterAll, inject } from "vitest"
import { openRedis, type Redis } from "../../src/services/redis.ts"
import { useRedisCluster } from "./redis-cluster.ts"

export type ServerKind = "standalone" | "cluster"

/** Both kinds, for describe.each. */
export const SERVERS: readonly ServerKind[] = ["standalone", "cluster"]

export interface ServerFixture {
  readonly kind: ServerKind
  /** The URL to give REDIS_URL / redis.url (inside a test or hook). */
  readonly url: () => string
  /** A client for `url()`, closed by `stop`. */
  readonly client: () => Redis
  /** Closes the clients made here; on the Cluster also stops its nodes. Called after the block's tests. */
  readonly stop: () => Promise<void>
}

/** The server of `kind` for the calling describe block; call it in the block's body. */
export const useServer = (kind: ServerKind): ServerFixture => {
  const clients: Redis[] = []
  const cluster = kind === "cluster" ? useRedisCluster({ masters: 3 }) : undefined
  const url = () => (cluster ? `redis+cluster://${cluster.nodes().map((n) => `${n.host}:${n.port}`).join(",")}` : inject("redisUrl"))
  const fixture: ServerFixture = {
    kind,
    url,
    client: () => {
      const c = openRedis(url(), `test-${kind}`)
      clients.push(c)
      return c
    },
    // The Cluster's own afterAll (registered first, so run after this one) stops its nodes.
    stop: async () => {
      await Promise.allSettled(clients.splice(0).map((c) => c.quit()))
    }
  }
  afterAll(() => fixture.stop())
  return fixture
}
