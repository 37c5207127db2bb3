/**
 * config/redis-url.ts: a redis+cluster:// URL names its seed nodes and credentials, and
 * reads back from its own printing (credentials of any characters, URL-encoded); any
 * other URL is a standalone one, passed on as written; malformed Cluster URLs are refused
 * with a message that never holds the password. The password is the one secrets.ts takes
 * out of the URL, and the logged form (maskUrl) does not show it. No I/O.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { clusterUrl, parseRedisUrl, RedisUrlError, type RedisTarget } from "../../config/redis-url.ts"
import { maskUrl } from "../../src/services/logger.ts"
import { urlPassword } from "../../src/services/secrets.ts"

type ClusterTarget = Extract<RedisTarget, { kind: "cluster" }>

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/)
const host = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join(".")),
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`)
)
const seed = fc.record({ host, port: fc.integer({ min: 1, max: 65535 }) })
const secret = fc.string({ minLength: 1, maxLength: 20, unit: "grapheme" })
const target: fc.Arbitrary<ClusterTarget> = fc.record({
  seeds: fc.array(seed, { minLength: 1, maxLength: 5 }),
  username: fc.option(secret, { nil: undefined }),
  password: fc.option(secret, { nil: undefined })
}).map(({ seeds, username, password }) => ({
  kind: "cluster" as const, seeds,
  ...(username !== undefined ? { username } : {}),
  ...(password !== undefined ? { password } : {})
}))

const refusal = (url: string): string => {
  try {
    parseRedisUrl(url)
  } catch (e) {
    if (e instanceof RedisUrlError) return e.message
    throw e
  }
  throw new Error(`${url} was accepted`)
}

describe("Redis URLs", () => {
  test.prop([target], { seed: 4711, numRuns: 300 })("a Cluster URL reads back from its own printing", (t) => {
    expect(parseRedisUrl(clusterUrl(t))).toEqual(t)
  })

  test.prop([target.filter((t) => t.password !== undefined && t.password.length >= 4)], { seed: 815, numRuns: 200 })(
    "its password is the one secrets.ts learns, and the logged form hides it", (t) => {
      const url = clusterUrl(t)
      expect(urlPassword(url)).toBe(t.password)
      expect(maskUrl(url)).not.toContain(encodeURIComponent(t.password ?? ""))
      expect(parseRedisUrl(maskUrl(url))).toMatchObject({ kind: "cluster", seeds: t.seeds })
    })

  test.prop([fc.constantFrom("redis://", "rediss://", "unix://", "redis+sentinel://"), fc.string({ maxLength: 30 })], { seed: 99, numRuns: 200 })(
    "any other URL is a standalone one, passed on as written", (scheme, rest) => {
      expect(parseRedisUrl(scheme + rest)).toEqual({ kind: "standalone", url: scheme + rest })
    })

  it("reads seeds, credentials and the scheme in any case", () => {
    expect(parseRedisUrl("REDIS+CLUSTER://app:p%40ss@10.0.0.1:7000,redis-b.internal:7001/")).toEqual({
      kind: "cluster", username: "app", password: "p@ss",
      seeds: [{ host: "10.0.0.1", port: 7000 }, { host: "redis-b.internal", port: 7001 }]
    })
    // A password written without encoding ends at the last "@".
    expect(parseRedisUrl("redis+cluster://:a@b@h:1")).toEqual({ kind: "cluster", password: "a@b", seeds: [{ host: "h", port: 1 }] })
  })

  test.prop([target, fc.constantFrom("", ":", ":0", ":65536", ":70000", ":-1", ":12a", "::")], { seed: 7, numRuns: 200 })(
    "refuses a seed without a port in 1-65535, never quoting the password", (t, bad) => {
      const url = `${clusterUrl(t)},h${bad}`
      const why = refusal(url)
      expect(why).toMatch(/seed node/)
      if (t.password !== undefined) expect(why).not.toContain(encodeURIComponent(t.password))
    })

  it("refuses malformed Cluster URLs with a message naming what is wrong", () => {
    expect(refusal("redis+cluster://")).toMatch(/at least one seed node/)
    expect(refusal("redis+cluster://:pw@")).toMatch(/at least one seed node/)
    expect(refusal("redis+cluster://h:1,,h:2")).toMatch(/seed node ""/)
    expect(refusal("redis+cluster://h:1/3")).toMatch(/database other than 0/)
    expect(refusal("redis+cluster://h:1?tls=1")).toMatch(/seed node/)
    expect(refusal("redis+cluster://-h:1")).toMatch(/seed node/)
    expect(refusal("redis+cluster://:%E0%A4%A@h:1")).toMatch(/password .*not valid URL encoding/)
  })

  it("is checked with the configuration: a malformed one, or a Cluster for one partition, is refused by name", () => {
    const problems = (env: NodeJS.ProcessEnv, partitions?: number) => {
      try {
        loadConfig({ env, ...(partitions !== undefined ? { overrides: { partitions } } : {}) })
        return ""
      } catch (e) {
        return String((e as Error).message)
      }
    }
    expect(problems({ REDIS_URL: "redis+cluster://:Sekret-1@h:0" }, 6)).toMatch(/redis\.url .*seed node "h:0"/)
    expect(problems({ REDIS_URL: "redis+cluster://:Sekret-1@h:0" }, 6)).not.toContain("Sekret-1")
    expect(problems({ REDIS_URL: "redis+cluster://h:7000" }, 1)).toMatch(/Redis Cluster: an install on a Cluster needs partitions of 2 or more/)
    expect(problems({ REDIS_URL: "redis+cluster://h:7000" }, 6)).toBe("")
  })
})
