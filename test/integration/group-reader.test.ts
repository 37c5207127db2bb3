/**
 * GroupReader across a dropped connection: when the connection closes while a read is in
 * flight, entries Redis had already delivered (into the pending list) in a reply that was
 * lost must not be skipped. The read is discarded and the pending entries come back in
 * ID order, the lost delivery first. Reading two streams through one group, a batch never
 * holds more than the reader's count: what a read cut off comes next, in each stream's order,
 * also while the batch before is still unacknowledged, and after a restart from the
 * pending list.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { GroupReader, ensureGroup } from "../../streams/consumer.ts"
import { openRedis, type Redis } from "../../src/services/redis.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

describe("GroupReader", () => {
  let ns: TestNamespace
  let conn: Redis
  beforeEach(async () => {
    ns = await testNamespace()
    conn = openRedis(ns.redisUrl, "group-reader-under-test")
    conn.on("error", () => {})
  })
  afterEach(async () => {
    conn.disconnect()
    await ns.cleanup()
  })

  it("re-reads pending entries in order after a connection drops mid-read", async () => {
    const stream = `${ns.prefix}:s`
    await ensureGroup(ns.redis, stream, "g")
    const reader = new GroupReader(conn, stream, "g", "c", 10, 1_000)
    // Get the reader to the point of reading new entries.
    const e0 = await ns.redis.xadd(stream, "*", "n", "0")
    expect((await reader.next()).map((e) => e.id)).toEqual([e0])
    await ns.redis.xack(stream, "g", e0 as string)

    // A delivery to this consumer whose reply never reached it: e1 sits in its pending list.
    const e1 = await ns.redis.xadd(stream, "*", "n", "1")
    await ns.redis.xreadgroup("GROUP", "g", "c", "COUNT", 1, "STREAMS", stream, ">")

    // The reader blocks on new entries; its connection is killed mid-read.
    const id = await conn.client("ID")
    const inFlight = reader.next()
    // Kill only once Redis holds the read blocked (flag b, last command XREADGROUP).
    await waitUntil("the reader blocked in XREADGROUP", async () => {
      const line = String(await ns.redis.client("LIST", "ID", String(id)))
      return /\bflags=\S*b/.test(line) && /\bcmd=xreadgroup\b/.test(line)
    })
    await ns.redis.client("KILL", "ID", String(id))
    await waitUntil("the reader's connection back", async () => conn.status === "ready" && (await conn.client("ID")) !== id)
    // ioredis re-sends the blocked read, which now returns e2, the entry after the lost one.
    const e2 = await ns.redis.xadd(stream, "*", "n", "2")

    // Everything the reader hands out from here on: e1 (the lost delivery) must come, and before e2.
    const seen = (await inFlight).map((e) => e.id)
    for (let i = 0; i < 5 && !seen.includes(e2 as string); i++) seen.push(...(await reader.next()).map((e) => e.id))
    expect(seen).toEqual([e1, e2])
  })

  it("reads two streams in batches of at most its count, every entry once, each stream in order", async () => {
    const [a, b] = [`${ns.prefix}:{t}:a`, `${ns.prefix}:{t}:b`]
    for (const s of [a, b]) await ensureGroup(ns.redis, s, "g")
    const written: Record<string, string[]> = { [a]: [], [b]: [] }
    const write = async (n: number) => {
      // Interleaved, so a merged read takes from both: 2 of a for each of b.
      for (let i = 0; i < n; i++) for (const s of i % 3 === 2 ? [b] : [a]) written[s]?.push((await ns.redis.xadd(s, "*", "n", String(i))) as string)
    }
    const count = 4
    const seen: Record<string, string[]> = { [a]: [], [b]: [] }
    const take = (batch: readonly { stream: string; id: string }[]) => {
      expect(batch.length).toBeLessThanOrEqual(count)
      for (const e of batch) seen[e.stream]?.push(e.id)
    }
    const ack = async (batch: readonly { stream: string; id: string }[]) => {
      for (const e of batch) await ns.redis.xack(e.stream, "g", e.id)
    }

    // A first holder reads without acknowledging, then is gone: its entries wait pending.
    await write(15)
    const gone = new GroupReader(conn, [a, b], "g", "c", 10, 100)
    await gone.next()
    await gone.next()

    // A new reader of the same consumer drains the pending list and then new entries; each
    // batch is acknowledged only after the next one has been read (as the engine overlaps).
    await write(15)
    const reader = new GroupReader(conn, [a, b], "g", "c", count, 100)
    let held = await reader.next()
    take(held)
    const total = 30
    for (let i = 0; i < 100 && (seen[a]?.length ?? 0) + (seen[b]?.length ?? 0) < total; i++) {
      const next = await reader.next()
      take(next)
      await ack(held)
      held = next
    }
    await ack(held)
    expect(seen).toEqual(written)
    // Nothing read and left behind.
    for (const s of [a, b]) expect(((await ns.redis.xpending(s, "g")) as [number])[0]).toBe(0)
    expect(await reader.next()).toEqual([])
  })
})
