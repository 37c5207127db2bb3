/**
 * The Redis clients the raw baselines can run on, behind one small interface: read a batch
 * from a consumer group, and in one round trip add entries to another stream and acknowledge
 * the batch. Used to choose the fastest maintained client by measurement (the `client`
 * scenario) and to run the raw baselines on it, so a baseline is held back by Redis and
 * the network, not by a slow reply decoder. Each client returns replies as plain arrays
 * (ioredis' own commands, node-redis' `sendCommand`), the cheapest form each offers.
 * Does not time anything.
 */
import { createClient } from "@redis/client"
import { Redis as Ioredis6 } from "ioredis"
import { Redis as Ioredis5 } from "ioredis5"

export type StreamEntries = [string, string[]][]

/** An entry to add to `stream` under `id` (the raw router's copy). */
export interface RawCopy {
  readonly stream: string
  readonly id: string
  readonly fields: readonly string[]
}

export interface RawClient {
  readonly name: string
  /** XREADGROUP … COUNT count [BLOCK blockMs] STREAMS stream > : the entries delivered. */
  readonly readGroup: (stream: string, group: string, consumer: string, count: number, blockMs?: number) => Promise<StreamEntries>
  /** XADD each of `adds` to `output` (auto IDs) and XACK `ids` on `input`, in one MULTI. */
  readonly relay: (input: string, group: string, ids: readonly string[], output: string, adds: readonly (readonly string[])[]) => Promise<void>
  readonly ack: (stream: string, group: string, ids: readonly string[]) => Promise<void>
  /** XADD each of `copies` to its own stream under its own ID and XACK `ids` on `input`, in one MULTI. */
  readonly copy: (input: string, group: string, ids: readonly string[], copies: readonly RawCopy[]) => Promise<void>
  /** XGROUP CREATE stream group 0 MKSTREAM. */
  readonly create: (stream: string, group: string) => Promise<void>
  readonly close: () => Promise<void>
}

/**
 * ioredis 6 speaks RESP3 unless told otherwise (its default `protocol: 3`), so it is
 * measured both ways; ioredis 5 and node-redis (told so below) speak RESP2.
 */
export const CLIENTS = ["ioredis 6", "ioredis 6 RESP2", "ioredis 5", "node-redis"] as const
export type ClientName = (typeof CLIENTS)[number]

/**
 * The client the raw baselines run on, chosen by the `client` scenario's drain rates
 * (docs/bench.md has the runs): the fastest maintained client on this workload. node-redis
 * is Redis' own client, released monthly, `engines` node >= 20.
 */
export const RAW_CLIENT: ClientName = "node-redis"

type Reply = [string, StreamEntries][] | null

const readArgs = (stream: string, group: string, consumer: string, count: number, blockMs?: number): string[] => [
  "GROUP", group, consumer, "COUNT", String(count), ...(blockMs === undefined ? [] : ["BLOCK", String(blockMs)]), "STREAMS", stream, ">"
]

type XReadGroup = (...args: string[]) => Promise<unknown>

const ioredisClient = (name: ClientName, redis: Ioredis6 | Ioredis5): RawClient => ({
  name,
  readGroup: async (stream, group, consumer, count, blockMs) => {
    // The command method, not `call`: over RESP3 only it turns the reply's map back into
    // the RESP2 shape, as the engine's own reads get it.
    const read = redis.xreadgroup.bind(redis) as unknown as XReadGroup
    const reply = (await read(...readArgs(stream, group, consumer, count, blockMs))) as Reply
    return reply?.[0]?.[1] ?? []
  },
  relay: async (input, group, ids, output, adds) => {
    if (adds.length === 0) return void (await redis.xack(input, group, ...ids))
    const m = redis.multi()
    for (const fields of adds) m.xadd(output, "*", ...fields)
    m.xack(input, group, ...ids)
    await m.exec()
  },
  ack: async (stream, group, ids) => { await redis.xack(stream, group, ...ids) },
  copy: async (input, group, ids, copies) => {
    const m = redis.multi()
    for (const c of copies) m.xadd(c.stream, c.id, ...c.fields)
    m.xack(input, group, ...ids)
    await m.exec()
  },
  create: async (stream, group) => { await redis.xgroup("CREATE", stream, group, "0", "MKSTREAM") },
  close: async () => { await redis.quit() }
})

const nodeRedisClient = async (url: string): Promise<RawClient> => {
  // RESP2 replies are the flat arrays the other two return; RESP3 would build maps.
  const client = createClient({ url, RESP: 2 })
  client.on("error", (e: unknown) => process.stderr.write(`node-redis: ${String(e)}\n`))
  await client.connect()
  return {
    name: "node-redis",
    readGroup: async (stream, group, consumer, count, blockMs) => {
      const reply = (await client.sendCommand(["XREADGROUP", ...readArgs(stream, group, consumer, count, blockMs)])) as unknown as Reply
      return reply?.[0]?.[1] ?? []
    },
    relay: async (input, group, ids, output, adds) => {
      if (adds.length === 0) return void (await client.sendCommand(["XACK", input, group, ...ids]))
      const m = client.multi()
      for (const fields of adds) m.addCommand(["XADD", output, "*", ...fields])
      m.addCommand(["XACK", input, group, ...ids])
      await m.exec()
    },
    ack: async (stream, group, ids) => { await client.sendCommand(["XACK", stream, group, ...ids]) },
    copy: async (input, group, ids, copies) => {
      const m = client.multi()
      for (const c of copies) m.addCommand(["XADD", c.stream, c.id, ...c.fields])
      m.addCommand(["XACK", input, group, ...ids])
      await m.exec()
    },
    create: async (stream, group) => { await client.sendCommand(["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"]) },
    close: async () => { await client.close() }
  }
}

export const openRawClient = async (name: ClientName, url: string): Promise<RawClient> => {
  switch (name) {
    case "ioredis 6": return ioredisClient(name, new Ioredis6(url))
    case "ioredis 6 RESP2": return ioredisClient(name, new Ioredis6(url, { protocol: 2 }))
    case "ioredis 5": return ioredisClient(name, new Ioredis5(url))
    case "node-redis": return nodeRedisClient(url)
  }
}

export const isClientName = (s: string): s is ClientName => (CLIENTS as readonly string[]).includes(s)

/**
 * Drain a backlog through a consumer group with `client`, `count` entries per read, each
 * batch acknowledged before the next read (the engine's own loop, minus the engine).
 * Returns entries consumed per second.
 */
export const drainRate = async (client: RawClient, stream: string, group: string, count: number, expected: number): Promise<number> => {
  const started = performance.now()
  let done = 0
  while (done < expected) {
    const entries = await client.readGroup(stream, group, "c", count)
    if (entries.length === 0) break
    await client.ack(stream, group, entries.map(([id]) => id))
    done += entries.length
  }
  return done / ((performance.now() - started) / 1000)
}
