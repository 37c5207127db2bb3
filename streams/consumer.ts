/**
 * Consumer-group plumbing shared by every reader of a stream: create the group, read this
 * consumer's own pending entries first (what a crash left unacknowledged), then new ones;
 * for readers that share work one entry at a time (the backfill workers): take over
 * entries another consumer left pending too long, reporting those removed from the stream
 * meanwhile, and keep an entry in hand with an atomic check-and-extend.
 * Batches are whatever has arrived: a read returns as soon as anything is there.
 * Does not decide what to do with an entry, a removed one included: the reader does.
 */
import { readFileSync } from "node:fs"
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

// ---------------------------------------------------------------- shared work, one entry at a time

export interface ClaimedEntry extends StreamEntry {
  /** Deliveries so far, this one included. */
  readonly deliveries: number
}

export interface StaleClaim {
  readonly entries: ClaimedEntry[]
  /**
   * IDs that were pending but are no longer in the stream (trimmed or XDEL'd). XAUTOCLAIM
   * drops them from the pending list as it reports them, so exactly one caller sees each.
   */
  readonly deleted: string[]
}

type AutoclaimReply = [string, [string, string[] | null][], string[]?]

/**
 * Take over up to `count` entries pending longer than `minIdleMs` (XAUTOCLAIM from the
 * start of the pending list), with their delivery counts.
 */
export const claimStale = async (
  redis: Redis, stream: string, group: string, consumer: string, minIdleMs: number, count: number
): Promise<StaleClaim> => {
  const [, rows, deletedIds] = (await redis.xautoclaim(stream, group, consumer, minIdleMs, "0-0", "COUNT", count)) as AutoclaimReply
  // Before Redis 7 a removed entry came back with nil fields instead of in the third list.
  const deleted = [...(deletedIds ?? []), ...rows.filter(([, f]) => f === null).map(([id]) => id)]
  const entries: ClaimedEntry[] = []
  for (const [id, fields] of rows) {
    if (fields === null) continue
    const pending = (await redis.xpending(stream, group, id, id, 1)) as [string, string, number, number][]
    entries.push({ id, fields, deliveries: Number(pending[0]?.[3] ?? 1) })
  }
  return { entries, deleted }
}

/** Up to `count` entries never delivered to anyone (blocking up to `blockMs`); first delivery. */
export const readNew = async (
  redis: Redis, stream: string, group: string, consumer: string, count: number, blockMs: number
): Promise<ClaimedEntry[]> =>
  (await readGroup(redis, stream, group, consumer, count, blockMs, ">")).map((e) => ({ ...e, deliveries: 1 }))

const EXTEND_CLAIM = readFileSync(new URL("./lua/extend-claim-1.lua", import.meta.url), "utf8")

export type ExtendResult =
  | { readonly status: "ok" }
  | { readonly status: "taken"; readonly owner: string }
  | { readonly status: "gone" }
  | { readonly status: "released" }

type WithExtend = Redis & { strataExtendClaim(stream: string, group: string, consumer: string, id: string): Promise<[string, string]> }

/**
 * Keep an entry this consumer works on: in one script, check it is still in the stream
 * and pending for this consumer, and reset its idle time (no delivery counted).
 */
export const extendClaim = async (redis: Redis, stream: string, group: string, consumer: string, id: string): Promise<ExtendResult> => {
  if (!("strataExtendClaim" in redis)) redis.defineCommand("strataExtendClaim", { numberOfKeys: 1, lua: EXTEND_CLAIM })
  const [status, owner] = await (redis as WithExtend).strataExtendClaim(stream, group, consumer, id)
  switch (status) {
    case "ok": return { status }
    case "taken": return { status, owner }
    case "gone": return { status }
    default: return { status: "released" }
  }
}
