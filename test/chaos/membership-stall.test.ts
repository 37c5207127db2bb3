/**
 * A membership keeper whose connection to Redis hangs (a proxy that stops answering, as a
 * half-open connection or a paused node does) gives up every partition once its
 * membership may have lapsed, instead of waiting on a reply that never comes; the other
 * engine takes them after the TTL.
 */
import { createServer, connect, type Server, type Socket } from "node:net"
import { Effect, Fiber } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { MembershipKeeper } from "../../src/engine/membership.ts"
import { partitionsOf } from "../../src/engine/rendezvous.ts"
import { createLogger } from "../../src/services/logger.ts"
import { pollUntil } from "../../src/services/poll.ts"
import { openRedis, type Redis } from "../../src/services/redis.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const COUNT = 8
const TTL = 600
const log = createLogger("test-membership-stall", process.env["LOG_LEVEL"] ?? "silent")

/** A TCP proxy to Redis that, once frozen, forwards nothing more either way. */
const stallProxy = async (redisUrl: string) => {
  const target = new URL(redisUrl)
  let frozen = false
  const sockets: Socket[] = []
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname)
    sockets.push(client, upstream)
    client.on("data", (d) => { if (!frozen) upstream.write(d) })
    upstream.on("data", (d) => { if (!frozen) client.write(d) })
    for (const s of [client, upstream]) s.on("error", () => s.destroy())
    client.on("close", () => upstream.destroy())
    upstream.on("close", () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const url = new URL(redisUrl)
  url.hostname = "127.0.0.1"
  url.port = String(port)
  return {
    url: url.toString(),
    freeze: () => { frozen = true },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

let ns: TestNamespace
const cleanups: (() => Promise<void>)[] = []
beforeEach(async () => {
  ns = await testNamespace()
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  await ns.cleanup()
})

const engine = (id: string, redis: Redis) => {
  const held = new Set<number>()
  const keeper = new MembershipKeeper({
    redis, prefix: ns.prefix, owner: id, count: COUNT, ttlMs: TTL, debounceMs: 300, log,
    held: () => held,
    onPlan: (plan) => {
      for (const p of plan.release) held.delete(p)
      for (const p of plan.take) held.add(p)
    }
  })
  const fiber = Effect.runFork(keeper.run)
  cleanups.push(() => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined))
  return { id, keeper, held }
}
const holdsShare = (e: { id: string; held: Set<number> }, ids: readonly string[]) =>
  [...e.held].sort((a, b) => a - b).join() === partitionsOf(e.id, ids, COUNT).join()

describe("membership over a hanging connection", () => {
  it("gives up every partition once its membership may have lapsed, and the other engine takes them", async () => {
    const proxy = await stallProxy(ns.redisUrl)
    cleanups.push(proxy.close)
    const stalled = openRedis(proxy.url, "test-membership-stall")
    // The proxy's sockets end with the test; the keeper reports the failed heartbeats.
    stalled.on("error", (e: Error) => log.debug({ err: e.message }, "stalled connection error"))
    cleanups.push(async () => { stalled.disconnect() })
    const a = engine("engine-a", ns.redis)
    const b = engine("engine-b", stalled)
    await pollUntil("both engines to hold their shares", () => holdsShare(a, ["engine-a", "engine-b"]) && holdsShare(b, ["engine-a", "engine-b"]), 20_000)
    proxy.freeze()
    await pollUntil("engine-b to give up its partitions", () => b.held.size === 0, 20_000)
    expect(b.keeper.heartbeatFailures).toBeGreaterThan(0)
    await pollUntil("engine-a to hold every partition", () => holdsShare(a, ["engine-a"]), 20_000)
  })
})
