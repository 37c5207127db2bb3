/**
 * Consumer-group plumbing shared by every reader of a stream: create the group, read this
 * consumer's own pending entries first (what a crash left unacknowledged), then new ones.
 * Batches are whatever has arrived: a read returns as soon as anything is there.
 */
import type { Redis } from "ioredis"
import type { StreamEntry } from "./entry.ts"

/** Create the group at the stream's start (entries written before the first run count too). */
export const ensureGroup = async (redis: Redis, stream: string, group: string, start = "0"): Promise<void> => {
  try {
    await redis.xgroup("CREATE", stream, group, start, "MKSTREAM")
  } catch (e) {
    if (!String((e as Error).message).includes("BUSYGROUP")) throw e
  }
}

type XReadReply = [string, [string, string[]][]][] | null

const entriesOf = (reply: XReadReply): StreamEntry[] =>
  reply?.[0]?.[1].map(([id, fields]) => ({ id, fields: fields ?? [] })) ?? []

/** Read a batch: `cursor` "0" re-reads this consumer's pending entries, ">" reads new ones. */
export const readGroup = async (
  redis: Redis, stream: string, group: string, consumer: string, count: number, blockMs: number, cursor: string
): Promise<StreamEntry[]> => {
  const reply = (cursor === ">"
    ? await redis.xreadgroup("GROUP", group, consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", stream, ">")
    : await redis.xreadgroup("GROUP", group, consumer, "COUNT", count, "STREAMS", stream, cursor)) as XReadReply
  return entriesOf(reply)
}

/**
 * A reader that drains its consumer's pending entries before reading new ones; after any
 * failure the caller calls `rewind()` and the pending entries are read again.
 *
 * A connection that drops while a read is in flight is the subtle case: Redis may have
 * delivered entries (moved them into the pending list) in a reply that was lost, and
 * ioredis re-sends the read after reconnecting, which then returns the entries *after*
 * them. So a read that spans a reconnect is discarded and the reader rewinds: the pending
 * list gives back every delivered entry, in ID order.
 */
export class GroupReader {
  private cursor = "0"
  private connectionEpoch = 0

  constructor(
    private readonly redis: Redis,
    readonly stream: string,
    readonly group: string,
    readonly consumer: string,
    private readonly count: number,
    private readonly blockMs: number
  ) {
    redis.on("close", () => {
      this.connectionEpoch++
    })
  }

  async next(): Promise<StreamEntry[]> {
    const epoch = this.connectionEpoch
    const entries = await this.read()
    if (this.connectionEpoch !== epoch) {
      this.rewind()
      return []
    }
    return entries
  }

  private async read(): Promise<StreamEntry[]> {
    if (this.cursor !== ">") {
      const pending = await readGroup(this.redis, this.stream, this.group, this.consumer, this.count, 0, this.cursor)
      const last = pending.at(-1)
      if (last) {
        this.cursor = last.id
        return pending
      }
      this.cursor = ">"
    }
    return readGroup(this.redis, this.stream, this.group, this.consumer, this.count, this.blockMs, ">")
  }

  rewind(): void {
    this.cursor = "0"
  }
}

/** pending + lag of a consumer group, or undefined when the stream or the group does not exist yet. */
export const groupBacklog = async (redis: Redis, stream: string, group: string): Promise<number | undefined> => {
  if ((await redis.exists(stream)) === 0) return undefined
  const groups = (await redis.xinfo("GROUPS", stream)) as unknown[][]
  for (const g of groups) {
    // An XINFO reply, not a stream entry: values keep their types (lag may be nil).
    const info: Record<string, unknown> = {}
    for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1]
    if (info["name"] === group) return Number(info["pending"] ?? 0) + Number(info["lag"] ?? 0)
  }
  return undefined
}
