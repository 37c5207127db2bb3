/**
 * The ingress router against the real Redis: every ingress entry lands in its symbol's
 * partition under its own ID with its own fields, exactly once, in order; a repeated copy
 * is a no-op; a router that lost its lease copies and takes nothing; hostile entries are
 * dead-lettered and the loop goes on.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { prng } from "../../fixtures/workload.ts"
import { Router, routerLease } from "../../src/engine/router.ts"
import { createLogger } from "../../src/services/logger.ts"
import { openRedis, type Redis } from "../../src/services/redis.ts"
import { stepRefusal } from "../../streams/atomic-step.ts"
import { readAll } from "../../streams/stream-read.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { copyToPartition, readFenced } from "../../streams/route.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const N = 8
const log = createLogger("router-test", "silent")

let ns: TestNamespace
let conns: Redis[] = []

beforeEach(async () => {
  ns = await testNamespace({ partitions: N, ingest: { block_ms: 100, batch_size: 500 } })
  conns = []
})

afterEach(async () => {
  for (const c of conns) await c.quit()
  await ns.cleanup()
})

const conn = (name: string): Redis => {
  const c = openRedis(ns.redisUrl, name)
  conns.push(c)
  return c
}

const writesOf = new Map<Router, Redis>()

/** A router with its own connections and lease (not yet taken). */
const newRouter = async (name: string): Promise<Router> => {
  const writes = conn(`${name}-writes`)
  const router = new Router(conn(`${name}-reads`), writes, ns.config, log, routerLease(writes, ns.config, `${name}:owner`))
  writesOf.set(router, writes)
  await router.init()
  return router
}

const ingress = () => ingressKeys(ns.prefix)
const partition = (p: number) => partitionKeys(ns.prefix, p, N)

/** XADD entries to ingress, returning them as Redis stored them. */
const produce = async (rows: readonly (readonly string[])[]): Promise<StreamEntry[]> => {
  const pipeline = ns.redis.pipeline()
  for (const fields of rows) pipeline.xadd(ingress().scores, "*", ...fields)
  const ids = ((await pipeline.exec()) ?? []).map(([err, id]) => {
    if (err) throw err
    return String(id)
  })
  return ids.map((id, i) => ({ id, fields: [...(rows[i] as string[])] }))
}

/** Seeded scores entries over `symbols` symbols. */
const workload = (n: number, symbols: number, seed: number): string[][] => {
  const rand = prng(seed)
  return Array.from({ length: n }, () => {
    const s = Math.floor(rand() * symbols)
    return scoresFields(`SYM${s}`, { momentum: (rand() * 100).toFixed(3), volume: Math.floor(rand() * 1e6) })
  })
}

const partitionEntries = async (p: number): Promise<StreamEntry[]> => {
  const out: StreamEntry[] = []
  for await (const e of readAll(ns.redis, partition(p).scores)) out.push(e)
  return out
}

const allPartitions = async (): Promise<StreamEntry[][]> => Promise.all(Array.from({ length: N }, (_, p) => partitionEntries(p)))

const pendingOf = async (): Promise<number> => Number(((await ns.redis.xpending(ingress().scores, GROUPS.router)) as [number])[0])

/** Run the router until it routed `n` entries in all (its lease held); 50 idle runs in a row fail. */
const routeUntil = async (router: Router, n: number): Promise<void> => {
  for (let idle = 0; router.stats.routed < n;) {
    idle = (await router.runOnce()) === 0 ? idle + 1 : 0
    if (idle > 50) throw new Error(`router idle at ${router.stats.routed} of ${n} entries routed`)
  }
}

const idParts = (id: string): [bigint, bigint] => {
  const [ms, seq] = id.split("-")
  return [BigInt(ms ?? "0"), BigInt(seq ?? "0")]
}
const byId = (a: StreamEntry, b: StreamEntry): number => {
  const [am, as] = idParts(a.id)
  const [bm, bs] = idParts(b.id)
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1
}
const ascending = (entries: readonly StreamEntry[]) => entries.every((e, i) => i === 0 || byId(entries[i - 1] as StreamEntry, e) < 0)

describe("ingress router", () => {
  it("copies 5,000 entries over 300 symbols to their partitions under their IDs, each once, in order", async () => {
    const sent = await produce(workload(5000, 300, 4242))
    const router = await newRouter("a")
    expect((await router.lease.acquire()).held).toBe(true)
    await routeUntil(router, sent.length)

    const parts = await allPartitions()
    for (const [p, entries] of parts.entries()) {
      expect(ascending(entries), `partition ${p} ascending`).toBe(true)
      for (const e of entries) expect(symbolPartition(e.fields[1] as string, N), `${e.id} in partition ${p}`).toBe(p)
    }
    const union = parts.flat().sort(byId)
    expect(union).toEqual(sent)
    expect(parts.filter((e) => e.length > 0).length).toBe(N)
    expect(await pendingOf()).toBe(0)
    expect(router.stats).toMatchObject({ routed: 5000, copied: 5000, skipped: 0, dead: 0 })
  })

  it("sends a batch's copies to all its partitions at once, not each after the last one's reply", async () => {
    // The copy scripts the router's connection has sent and not yet had a reply to. One
    // after another, a batch waits a round trip per partition it touches (behind every
    // atomic step sharing the connection); at once, the batch costs one.
    const writes = conn("spy-writes")
    const scores = new Set(Array.from({ length: N }, (_, p) => partition(p).scores))
    let inFlight = 0
    let most = 0
    const send = writes.sendCommand.bind(writes)
    writes.sendCommand = ((command: Parameters<typeof send>[0], stream?: Parameters<typeof send>[1]) => {
      const isCopy = /^eval/i.test(command.name) && scores.has(String(command.args[2]))
      if (isCopy) {
        inFlight++
        most = Math.max(most, inFlight)
      }
      const reply = send(command, stream)
      if (isCopy) void command.promise.finally(() => { inFlight-- }).catch(() => undefined)
      return reply
    }) as typeof writes.sendCommand
    const router = new Router(conn("spy-reads"), writes, ns.config, log, routerLease(writes, ns.config, "spy:owner"))
    await router.init()
    const sent = await produce(workload(400, 300, 31))
    expect((await router.lease.acquire()).held).toBe(true)
    await routeUntil(router, sent.length)

    expect(router.stats.batches).toBe(1)
    expect((await allPartitions()).filter((e) => e.length > 0).length).toBe(N)
    expect(most).toBe(N)
    expect(await pendingOf()).toBe(0)
  })

  it("copies a batch once: the same copy again adds nothing and skips every entry", async () => {
    const p = 3
    const rows = workload(400, 300, 7).filter((f) => symbolPartition(f[1] as string, N) === p)
    const sent = await produce(rows)
    expect(await copyToPartition(ns.redis, partition(p), "1", sent)).toEqual({ copied: sent.length, skipped: 0 })
    expect(await copyToPartition(ns.redis, partition(p), "1", sent)).toEqual({ copied: 0, skipped: sent.length })
    // A batch that overlaps the copied ones: only the new tail is added.
    const more = await produce(rows.slice(0, 5))
    expect(await copyToPartition(ns.redis, partition(p), "1", [...sent.slice(-3), ...more])).toEqual({ copied: 5, skipped: 3 })
    expect(await partitionEntries(p)).toEqual([...sent, ...more])
  })

  it("after a crash between the copy and the acknowledgement, the next router copies no entry twice", async () => {
    const sent = await produce(workload(1200, 300, 99))
    const a = await newRouter("a")
    const held = await a.lease.acquire()
    if (!held.held) throw new Error("lease not taken")
    const holder = { owner: a.lease.owner, epoch: held.epoch }
    // Router a's pieces by hand: take a batch, copy it into every partition, die before XACK.
    const batch = await readFenced(ns.redis, ingress(), a.keys, holder, GROUPS.router, a.consumer, 500, "new")
    expect(batch.entries.length).toBe(500)
    for (let p = 0; p < N; p++) {
      const mine = batch.entries.filter((e) => symbolPartition(e.fields[1] as string, N) === p)
      if (mine.length > 0) await copyToPartition(ns.redis, partition(p), held.epoch, mine)
    }
    // Its lease ends (kill -9: by its TTL; here at once).
    await ns.redis.del(a.keys.lease)

    const b = await newRouter("b")
    expect((await b.lease.acquire()).held).toBe(true)
    await routeUntil(b, sent.length)
    const union = (await allPartitions()).flat().sort(byId)
    expect(union).toEqual(sent)
    expect(b.stats).toMatchObject({ takenOver: 500, skipped: 500, copied: 700 })
    expect(await pendingOf()).toBe(0)
  })

  it("fences a router whose lease was taken over: its copy into a partition the new router wrote is refused, it takes nothing more and drops its lease", async () => {
    const rows = workload(600, 300, 5)
    const sent = await produce(rows)
    const a = await newRouter("a")
    const heldA = await a.lease.acquire()
    if (!heldA.held) throw new Error("lease not taken")
    // a takes a batch, then pauses (its copies come later).
    const inHand = (await readFenced(ns.redis, ingress(), a.keys, { owner: a.lease.owner, epoch: heldA.epoch }, GROUPS.router, a.consumer, 500, "new")).entries
    const partOf = (e: StreamEntry) => symbolPartition(e.fields[1] as string, N)
    const [p, q] = [partOf(inHand[0] as StreamEntry), partOf(inHand.find((e) => partOf(e) !== partOf(inHand[0] as StreamEntry)) as StreamEntry)]

    // a's lease ends while it is paused; b takes the lease over (epoch 2).
    await ns.redis.del(a.keys.lease)
    const b = await newRouter("b")
    const heldB = await b.lease.acquire()
    expect(heldB).toEqual({ held: true, epoch: "2" })
    // Before b runs, a resumes and copies into q, which b has not written yet: the fence
    // lets it through, and these are entries b takes over and then skips.
    const forQ = inHand.filter((e) => partOf(e) === q)
    expect(await copyToPartition(ns.redis, partition(q), heldA.epoch, forQ)).toEqual({ copied: forQ.length, skipped: 0 })

    await routeUntil(b, sent.length)
    expect(b.stats.skipped).toBe(forQ.length)

    // a's copy into p, which b wrote: refused whole.
    const before = await partitionEntries(p)
    const forP = inHand.filter((e) => partOf(e) === p)
    const refused = await copyToPartition(ns.redis, partition(p), heldA.epoch, forP).then(() => undefined, (e: unknown) => e)
    expect(stepRefusal(refused)).toBe("fenced")
    expect(await partitionEntries(p)).toEqual(before)

    // a's loop, whose local view still trusts its lease: its read is refused, it drops the lease.
    expect(a.lease.held()).toBeDefined()
    await produce(workload(10, 300, 6))
    expect(await a.runOnce()).toBe(0)
    expect(a.stats.fenced).toBe(1)
    expect(a.lease.held()).toBeUndefined()
    expect(Number(((await ns.redis.xpending(ingress().scores, GROUPS.router, "-", "+", 100, a.consumer)) as unknown[]).length)).toBe(0)

    await routeUntil(b, sent.length + 10)
    const all = (await allPartitions()).flat().sort(byId)
    expect(all.length).toBe(sent.length + 10)
    expect(all.slice(0, sent.length)).toEqual(sent)
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length)
  })

  it("discards a read whose reply spanned a reconnect, and routes its entries from the pending list, in order", async () => {
    const router = await newRouter("a")
    expect((await router.lease.acquire()).held).toBe(true)
    // The start-up takeover finds nothing pending; the router then reads new entries.
    expect(await router.runOnce()).toBe(0)
    const sent = await produce(workload(300, 300, 12))
    const run = router.runOnce()
    // The connection closes while the read is in flight (ioredis would send it again).
    writesOf.get(router)?.emit("close")
    expect(await run).toBe(0)
    expect((await allPartitions()).flat()).toEqual([])
    await routeUntil(router, sent.length)
    expect(router.stats.takenOver).toBe(sent.length)
    expect((await allPartitions()).flat().sort(byId)).toEqual(sent)
    expect(await pendingOf()).toBe(0)
  })

  it("dead-letters an entry without a symbol, one with a 1 MB field and one of binary junk, and routes the rest", async () => {
    const good = workload(20, 300, 11)
    const hostile: string[][] = [
      ["momentum", "1.5"],
      ["symbol", "AAPL", "momentum", "x".repeat(1024 * 1024)],
      ["symbol", "\u0000\u00ff\ufffd", "momentum", "2"]
    ]
    const sentGood1 = await produce(good.slice(0, 10))
    const bad = await produce(hostile)
    // Binary junk as raw bytes (not UTF-8), straight to Redis.
    const junkId = String(await ns.redis.xadd(ingress().scores, "*", Buffer.from([0x73, 0x79, 0x6d, 0x62, 0x6f, 0x6c]), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x00]), "momentum", "1"))
    const sentGood2 = await produce(good.slice(10))
    const router = await newRouter("a")
    expect((await router.lease.acquire()).held).toBe(true)
    await routeUntil(router, 24)

    expect((await allPartitions()).flat().sort(byId)).toEqual([...sentGood1, ...sentGood2])
    const dead: StreamEntry[] = []
    for await (const e of readAll(ns.redis, ingress().scoresDead)) dead.push(e)
    const letters = dead.map((e) => parseDeadLetter(e.fields))
    expect(letters.map((l) => l?.sourceId)).toEqual([...bad.map((e) => e.id), junkId])
    expect(letters.map((l) => l?.reason)).toEqual([
      "missing symbol",
      expect.stringMatching(/^value of momentum too long/),
      expect.stringMatching(/^invalid symbol/),
      expect.stringMatching(/^invalid symbol/)
    ])
    expect(letters[1]?.truncated).toBe(true)
    expect(router.stats).toMatchObject({ routed: 24, copied: 20, dead: 4 })
    expect(await pendingOf()).toBe(0)
  })

  it("copies an accepted entry's bytes exactly as sent", async () => {
    // A symbol with Unicode around it and a ts in ISO form: accepted, and copied unchanged.
    const raw = [Buffer.from("symbol"), Buffer.from("\u00a0msft\u2003", "utf8"), Buffer.from("ts"), Buffer.from("2024-01-02T15:30:00Z"), Buffer.from("momentum"), Buffer.from(" 1.50 ")]
    const id = String(await ns.redis.xadd(ingress().scores, "*", ...raw))
    const router = await newRouter("a")
    expect((await router.lease.acquire()).held).toBe(true)
    await routeUntil(router, 1)
    const p = symbolPartition("MSFT", N)
    const copied = (await ns.redis.xrangeBuffer(partition(p).scores, "-", "+")) as [Buffer, Buffer[]][]
    expect(copied.map(([i]) => i.toString())).toEqual([id])
    expect(Buffer.concat((copied[0] as [Buffer, Buffer[]])[1])).toEqual(Buffer.concat(raw))
  })
})
