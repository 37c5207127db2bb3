/**
 * Reads of a stream outside any consumer group: ranges (XRANGE), the latest entries
 * (XREVRANGE), every entry between two bounds a chunk at a time (handed out entry by entry
 * or chunk by chunk), a blocking read of what comes after an ID (XREAD), a follower of
 * several streams at once (slot by slot on a Cluster) and a non-blocking tail from the
 * last ID seen. These reads deliver nothing and
 * acknowledge nothing: a reader keeps its own place.
 * Does not read through a group, claim, or report group figures (streams/consumer.ts does),
 * and does not decide what an entry means: the reader does.
 */
import calculateSlot from "cluster-key-slot"
import type { Redis } from "ioredis"
import { entriesByStream, entriesOfReply, type ReadReply, type StreamEntry } from "./entry.ts"

type RangeReply = [string, string[]][]

const entriesOfRange = (rows: RangeReply): StreamEntry[] => rows.map(([id, fields]) => ({ id, fields }))

/** Entries between two XRANGE bounds (inclusive; "(" before an ID excludes it), oldest first. */
export const readRange = async (redis: Redis, stream: string, start: string, end: string, count?: number): Promise<StreamEntry[]> =>
  entriesOfRange(count === undefined ? await redis.xrange(stream, start, end) : await redis.xrange(stream, start, end, "COUNT", count))

/** The entry with this ID, if the stream still holds it. */
export const readEntry = async (redis: Redis, stream: string, id: string): Promise<StreamEntry | undefined> =>
  (await readRange(redis, stream, id, id, 1))[0]

/** The latest `count` entries, newest first. */
export const readLatest = async (redis: Redis, stream: string, count: number): Promise<StreamEntry[]> =>
  entriesOfRange(await redis.xrevrange(stream, "+", "-", "COUNT", count))

/** Every entry between two bounds as the reads return them: chunks of at most `chunk` (none empty), oldest first. */
export async function* readAllChunks(redis: Redis, stream: string, from = "-", to = "+", chunk = 5000): AsyncGenerator<StreamEntry[]> {
  let start = from
  for (;;) {
    const rows = await readRange(redis, stream, start, to, chunk)
    const last = rows.at(-1)
    if (!last) return
    yield rows
    if (rows.length < chunk) return
    start = `(${last.id}`
  }
}

/** Every entry between two bounds, `chunk` at a time, oldest first. */
export async function* readAll(redis: Redis, stream: string, from = "-", to = "+", chunk = 5000): AsyncGenerator<StreamEntry> {
  for await (const rows of readAllChunks(redis, stream, from, to, chunk)) yield* rows
}

/**
 * Entries added after `after` ("$": after the stream's end now), up to `count`, blocking up
 * to `blockMs` when there are none. Needs a connection of its own while it blocks.
 */
export const readAfter = async (redis: Redis, stream: string, after: string, count: number, blockMs: number): Promise<StreamEntry[]> =>
  entriesOfReply((await redis.xread("COUNT", count, "BLOCK", blockMs, "STREAMS", stream, after)) as ReadReply)

type ManyReply = { readonly stream: string; readonly entries: StreamEntry[] }[]

/** One XREAD over `streams` (keys of one slot on a Cluster), after the IDs in `last`. */
const readMany = async (redis: Redis, streams: readonly string[], last: ReadonlyMap<string, string>, count: number, blockMs?: number): Promise<ManyReply> => {
  const ids = streams.map((k) => last.get(k) ?? "0-0")
  const reply = (blockMs === undefined
    ? await redis.xread("COUNT", count, "STREAMS", ...streams, ...ids)
    : await redis.xread("COUNT", count, "BLOCK", blockMs, "STREAMS", ...streams, ...ids)) as ReadReply
  return entriesByStream(reply)
}

/**
 * Follows several streams at once, outside any group, from where each ended at the first
 * read: each `next()` returns what was added since (up to `count` entries a stream),
 * waiting up to `blockMs` when nothing was. On standalone Redis that is one XREAD over
 * every stream, blocking once for all. A Redis Cluster refuses an XREAD whose keys span
 * slots, and two partitions' streams never share one: there each slot's streams are read
 * without blocking, one XREAD a slot, and when none had anything the reader blocks on
 * one slot's streams, a different slot each time, so an entry elsewhere waits at most
 * about `blockMs` × the number of slots before a read finds it.
 * Needs a connection of its own: it blocks.
 */
export class StreamsFollower {
  private readonly last = new Map<string, string>()
  private started = false
  private turn = 0
  private readonly slots: readonly (readonly string[])[]

  /** `from`: "end" follows what is added after the first read; "start" reads each stream from its first entry. */
  constructor(
    private readonly redis: Redis, readonly streams: readonly string[], private readonly count: number, private readonly blockMs: number,
    private readonly from: "end" | "start" = "end"
  ) {
    const bySlot = new Map<number, string[]>()
    for (const s of streams) {
      const slot = redis.isCluster ? calculateSlot(s) : 0
      const list = bySlot.get(slot)
      if (list) list.push(s)
      else bySlot.set(slot, [s])
    }
    this.slots = [...bySlot.values()]
  }

  async next(): Promise<ManyReply> {
    if (!this.started) {
      // Where each stream ends now: "$" in a read that does not block would never see anything.
      for (const s of this.streams) this.last.set(s, this.from === "start" ? "0-0" : (await readLatest(this.redis, s, 1))[0]?.id ?? "0-0")
      this.started = true
    }
    let out: ManyReply = []
    if (this.slots.length === 1) out = await readMany(this.redis, this.slots[0] ?? [], this.last, this.count, this.blockMs)
    else {
      for (const streams of this.slots) out = [...out, ...(await readMany(this.redis, streams, this.last, this.count))]
      if (out.length === 0) {
        const streams = this.slots[this.turn++ % this.slots.length] ?? []
        out = await readMany(this.redis, streams, this.last, this.count, this.blockMs)
      }
    }
    for (const { stream, entries } of out) {
      const id = entries.at(-1)?.id
      if (id !== undefined) this.last.set(stream, id)
    }
    return out
  }
}

/**
 * Follows a stream from the last ID seen without blocking: the first read only finds where
 * the stream ends, later reads return what was added since, at most `max` entries a read
 * (the rest waits for the next read, so a flood cannot stall a reader).
 */
export class StreamTail {
  private lastId: string | undefined

  constructor(private readonly redis: Redis, readonly key: string, private readonly max = 5000) {}

  async read(): Promise<StreamEntry[]> {
    if (this.lastId === undefined) {
      this.lastId = (await readLatest(this.redis, this.key, 1))[0]?.id ?? "0-0"
      return []
    }
    const entries = await readRange(this.redis, this.key, `(${this.lastId}`, "+", this.max)
    const last = entries.at(-1)
    if (last) this.lastId = last.id
    return entries
  }
}
