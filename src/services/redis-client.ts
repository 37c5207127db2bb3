/**
 * The one place that knows the Redis client kind: a `redis+cluster://` URL (redis-url.ts)
 * opens an ioredis `Cluster` (one connection per master, commands routed by slot), any
 * other URL a standalone `Redis`. Both are handed out typed as `Redis`, by the one cast in
 * `openRedis`: the Cluster client answers the same commands, scripts (defineCommand),
 * pipelines and MULTI, as long as the keys of each call share a slot, which the key layout
 * (streams/keys.ts) gives every call the engine makes within a partition. The few callers
 * whose command must differ on a Cluster (a multi-key XREAD over partitions, a SCAN of
 * every master) ask `redis.isCluster` (an ioredis property of both classes) or
 * `mastersOf` rather than the type: a narrow type of their own would have to be threaded
 * through every module that holds a connection, to say what `isCluster` already says.
 * Both kinds wait for a reconnect the same way (maxRetriesPerRequest 20, reconnecting for
 * ever), and read from masters only.
 * Does not decide which URL to use (infrastructure.ts) nor hold connections for a
 * process's concerns (redis.ts).
 */
import { Cluster, Redis } from "ioredis"
import { parseRedisUrl, type RedisTarget } from "../../config/redis-url.ts"

export { Redis }

/** Standalone ioredis' own reconnect delays (its default), used for every node of a Cluster too. */
const reconnectDelay = (times: number): number => Math.min(times * 50, 2000)

/** The options Strata sets on a connection, standalone or to a Cluster node. */
export interface ConnectionOptions {
  readonly connectionName?: string
  readonly maxRetriesPerRequest?: number
  readonly enableAutoPipelining?: boolean
  readonly connectTimeout?: number
}

/** Options of every connection the processes keep open. */
const connectionOptions = (name: string): ConnectionOptions => ({
  connectionName: name,
  // Commands wait for a reconnect instead of failing at once; a step that fails is
  // retried from the group's pending list, so nothing is lost either way.
  maxRetriesPerRequest: 20,
  enableAutoPipelining: false
})

/** How a Cluster client connects: at once and reconnecting for ever (the default), or as a one-shot probe. */
export interface ClusterMode {
  /** Connect on `connect()` or the first command, not at once. */
  readonly lazyConnect?: boolean
  /** false: one round of the seed nodes, no reconnecting (a probe that must answer now). */
  readonly reconnect?: boolean
}

/** An ioredis Cluster on the seed nodes, with the same waiting and reconnecting as a standalone connection. */
export const openCluster = (t: Extract<RedisTarget, { kind: "cluster" }>, options: ConnectionOptions = {}, mode: ClusterMode = {}): Cluster =>
  new Cluster(t.seeds.map((s) => ({ host: s.host.replace(/^\[|\]$/g, ""), port: s.port })), {
    redisOptions: {
      ...options,
      ...(t.username !== undefined ? { username: t.username } : {}),
      ...(t.password !== undefined ? { password: t.password } : {})
    },
    // Reconnect for ever, as a standalone connection does: the loops retry the commands.
    // ioredis' own default delays for the Cluster; standalone ones for each node.
    clusterRetryStrategy: mode.reconnect === false ? () => null : (times) => Math.min(100 + times * 2, 2000),
    clusterNodeRetryStrategy: mode.reconnect === false ? () => null : reconnectDelay,
    // Ready only once CLUSTER INFO says the Cluster serves every slot.
    enableReadyCheck: true,
    // Reads go to masters: the engine reads what it has just written (a replica may lag).
    scaleReads: "master",
    enableAutoPipelining: false,
    lazyConnect: mode.lazyConnect ?? false
  })

export const openRedis = (url: string, name = "strata"): Redis => {
  const target = parseRedisUrl(url)
  if (target.kind === "standalone") return new Redis(url, { ...connectionOptions(name), lazyConnect: false })
  // The one cast: see the module header.
  return openCluster(target, connectionOptions(name)) as unknown as Redis
}

/** Whether a connection opened here is a Cluster client. */
export const isCluster = (redis: Redis): boolean => redis.isCluster

/**
 * The connections to every master: the client itself on standalone Redis, each master's
 * node connection on a Cluster (for SCAN, whose cursor is a node's, not the Cluster's).
 */
export const mastersOf = (redis: Redis): readonly Redis[] =>
  redis.isCluster ? (redis as unknown as Cluster).nodes("master") : [redis]

/**
 * Call `f` whenever a connection of the client closes: its own on standalone Redis; on a
 * Cluster any node's too, since one node's connection drops (and reconnects) without the
 * Cluster client closing. Readers use it to know that a reply may have been lost.
 */
export const onConnectionClose = (redis: Redis, f: () => void): void => {
  redis.on("close", f)
  if (!redis.isCluster) return
  const cluster = redis as unknown as Cluster
  const watch = (node: Redis) => node.on("close", f)
  for (const node of cluster.nodes("all")) watch(node)
  cluster.on("+node", watch)
}
