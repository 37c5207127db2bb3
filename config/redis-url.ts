/**
 * Which kind of Redis a `redis.url` / `REDIS_URL` names, as a value: a standalone server
 * (`redis://…`, `rediss://…`, `unix://…`: handed to ioredis as written), or a Redis
 * Cluster given by its seed nodes, `redis+cluster://[user[:password]@]host:port[,host:port…]`
 * (credentials once, for every node, spelled as in a redis:// URL and URL-encoded the
 * same way; an IPv6 host in brackets; an optional trailing `/` or `/0`, since a Cluster
 * has database 0 only). Pure: parses and prints, opens nothing, logs nothing.
 * Does not decide how to connect (src/services/redis-client.ts does) nor mask URLs for logs (logger.ts does).
 */

export interface SeedNode {
  readonly host: string
  readonly port: number
}

export type RedisTarget =
  | { readonly kind: "standalone"; readonly url: string }
  | {
    readonly kind: "cluster"
    readonly seeds: readonly SeedNode[]
    readonly username?: string
    readonly password?: string
  }

export const CLUSTER_SCHEME = "redis+cluster:"

/** A URL that cannot be used, with why; the message never holds the password. */
export class RedisUrlError extends Error {
  override readonly name = "RedisUrlError"
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/

const decode = (part: string, what: string): string => {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new RedisUrlError(`the ${what} of the redis+cluster:// URL is not valid URL encoding`)
  }
}

const seedOf = (text: string): SeedNode => {
  const colon = text.lastIndexOf(":")
  const host = colon < 0 ? "" : text.slice(0, colon)
  const portText = colon < 0 ? "" : text.slice(colon + 1)
  if (!(HOSTNAME.test(host) || IPV6.test(host))) {
    throw new RedisUrlError(`seed node "${text}" of the redis+cluster:// URL: expected host:port (an IPv6 host in brackets)`)
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN
  if (!(port >= 1 && port <= 65535)) throw new RedisUrlError(`seed node "${text}" of the redis+cluster:// URL: the port must be 1-65535`)
  return { host, port }
}

/** What `url` names; throws RedisUrlError (naming redis.url, without the password) when it is a malformed Cluster URL. */
export const parseRedisUrl = (url: string): RedisTarget => {
  if (!url.toLowerCase().startsWith(`${CLUSTER_SCHEME}//`)) return { kind: "standalone", url }
  const rest = url.slice(CLUSTER_SCHEME.length + 2)
  // The credentials end at the last "@": a password written without encoding may hold one.
  const at = rest.lastIndexOf("@")
  const auth = at < 0 ? undefined : rest.slice(0, at)
  let hosts = at < 0 ? rest : rest.slice(at + 1)
  const slash = hosts.indexOf("/")
  if (slash >= 0) {
    const path = hosts.slice(slash)
    if (path !== "/" && path !== "/0") throw new RedisUrlError(`a redis+cluster:// URL names no database other than 0 and takes no options (got "${path}")`)
    hosts = hosts.slice(0, slash)
  }
  if (hosts === "") throw new RedisUrlError("a redis+cluster:// URL needs at least one seed node (host:port)")
  const seeds = hosts.split(",").map(seedOf)
  if (auth === undefined) return { kind: "cluster", seeds }
  const colon = auth.indexOf(":")
  const username = decode(colon < 0 ? auth : auth.slice(0, colon), "user name")
  const password = colon < 0 ? undefined : decode(auth.slice(colon + 1), "password")
  return {
    kind: "cluster", seeds,
    ...(username !== "" ? { username } : {}),
    ...(password !== undefined && password !== "" ? { password } : {})
  }
}

/** The redis+cluster:// URL of a Cluster target (credentials URL-encoded); parseRedisUrl reads it back. */
export const clusterUrl = (t: Extract<RedisTarget, { kind: "cluster" }>): string => {
  const user = encodeURIComponent(t.username ?? "")
  const auth = t.password !== undefined ? `${user}:${encodeURIComponent(t.password)}@` : user !== "" ? `${user}@` : ""
  return `${CLUSTER_SCHEME}//${auth}${t.seeds.map((s) => `${s.host}:${s.port}`).join(",")}`
}

/** Whether `url` names a Redis Cluster (without checking it further). */
export const isClusterUrl = (url: string): boolean => url.toLowerCase().startsWith(`${CLUSTER_SCHEME}//`)
