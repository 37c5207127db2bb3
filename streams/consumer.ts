/**
 * Consumer groups: create a group, read through it (this consumer's own pending entries
 * first, what a crash left unacknowledged, then new ones; one stream or several of one
 * slot), and for readers that share work one entry at a time (the backfill workers): take
 * over entries another consumer left pending too long, reporting those removed from the
 * stream meanwhile, keep an entry in hand with an atomic check-and-extend, hand it back.
 * Also the group and consumer figures of XINFO, a group's backlog, and the bound up to
 * which a group has applied every entry. Every read through a group goes through here.
 * Batches are whatever has arrived: a read returns as soon as anything is there.
 * Does not read outside a group (ranges, tails, followers: streams/stream-read.ts), and
 * does not decide what to do with an entry, a removed one included: the reader does.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import { onConnectionClose } from "../src/services/redis-client.ts"
import { compareEntryIds } from "../src/domain/time.ts"
import { entriesByStream, entriesOfReply, type ReadReply, type StreamEntry } from "./entry.ts"

/** Create the group at the stream's start (entries written before the first run count too). */
export const ensureGroup = async (redis: Redis, stream: string, group: string, start = "0"): Promise<void> => {
  try {
    await redis.xgroup("CREATE", stream, group, start, "MKSTREAM")
  } catch (e) {
    if (!String((e as Error).message).includes("BUSYGROUP")) throw e
  }
}

/** Read a batch: `cursor` "0" re-reads this consumer's pending entries, ">" reads new ones. */
export const readGroup = async (
  redis: Redis, stream: string, group: string, consumer: string, count: number, blockMs: number, cursor: string
): Promise<StreamEntry[]> => {
  const reply = (cursor === ">"
    ? await redis.xreadgroup("GROUP", group, consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", stream, ">")
    : await redis.xreadgroup("GROUP", group, consumer, "COUNT", count, "STREAMS", stream, cursor)) as ReadReply
  return entriesOfReply(reply)
}

/** An entry read through a group, with the stream it came from (a reader may read several). */
export interface SourcedEntry extends StreamEntry {
  readonly stream: string
}

/**
 * One XREADGROUP over `streams` (keys of one slot on a Cluster), each from its cursor: ">"
 * new entries, an ID this consumer's pending entries after it. Blocks up to `blockMs` only
 * when every cursor is ">" (a read of pending entries never waits).
 */
const readGroups = async (
  redis: Redis, streams: readonly string[], group: string, consumer: string, count: number, blockMs: number, cursors: readonly string[]
): Promise<SourcedEntry[]> => {
  const wait = cursors.every((c) => c === ">") ? ["BLOCK", blockMs] : []
  const args = ["GROUP", group, consumer, "COUNT", count, ...wait, "STREAMS", ...streams, ...cursors]
  // The typed command, not `call`: it gives the reply in the [stream, entries][] shape.
  const reply = (await (redis as unknown as { xreadgroup(...a: (string | number)[]): Promise<unknown> }).xreadgroup(...args)) as ReadReply
  return entriesByStream(reply).flatMap(({ stream, entries }) => entries.map((e) => ({ ...e, stream })))
}

/**
 * A reader that drains its consumer's pending entries before reading new ones; after any
 * failure the caller calls `rewind()` and the pending entries are read again.
 *
 * It may read several streams of one slot through the same group (a partition's engine
 * reads its router-filled and its direct stream): one XREADGROUP for all of them, each
 * stream with a cursor of its own, and a batch's entries merged in ID order (ties: the
 * stream given first). Order is only meaningful within one stream; the merge just keeps
 * a batch's entries close to their arrival order.
 *
 * A batch never holds more than `count` entries, however many streams are read: XREADGROUP
 * counts per stream, so the merged reply is cut after `count`. What is cut off is already
 * delivered (in this consumer's pending list), so that stream's cursor goes back to the last
 * entry of it handed out and the next read takes the rest from the pending list, in order,
 * before anything new of that stream. The next read may be issued while the batch before it
 * is still being applied (not acknowledged yet): the cursor never re-reads what was handed
 * out. After a crash or `rewind()` the rest is pending like any other delivered entry.
 *
 * A connection that drops while a read is in flight is the subtle case: Redis may have
 * delivered entries (moved them into the pending list) in a reply that was lost, and
 * ioredis re-sends the read after reconnecting, which then returns the entries *after*
 * them. So a read that spans a reconnect is discarded and the reader rewinds: the pending
 * list gives back every delivered entry, in ID order.
 */
export class GroupReader {
  readonly streams: readonly string[]
  private cursors: string[]
  /** Per stream, the last entry handed out since the last rewind (undefined: none yet). */
  private handedOut: (string | undefined)[]
  private connectionEpoch = 0

  constructor(
    private readonly redis: Redis,
    streams: string | readonly string[],
    readonly group: string,
    readonly consumer: string,
    private readonly count: number,
    private readonly blockMs: number
  ) {
    this.streams = typeof streams === "string" ? [streams] : [...streams]
    this.cursors = this.streams.map(() => "0")
    this.handedOut = this.streams.map(() => undefined)
    onConnectionClose(redis, () => {
      this.connectionEpoch++
    })
  }

  async next(): Promise<SourcedEntry[]> {
    const epoch = this.connectionEpoch
    const entries = await this.read()
    if (this.connectionEpoch !== epoch) {
      this.rewind()
      return []
    }
    return entries
  }

  private async read(): Promise<SourcedEntry[]> {
    if (this.cursors.some((c) => c !== ">")) {
      const batch = this.cut(await readGroups(this.redis, this.streams, this.group, this.consumer, this.count, 0, this.cursors), true)
      if (batch.length > 0) return batch
    }
    return this.cut(await readGroups(this.redis, this.streams, this.group, this.consumer, this.count, this.blockMs, this.cursors), false)
  }

  /**
   * The first `count` entries of a read, in ID order, and each stream's next cursor: a
   * stream cut short goes on from the pending list after its last entry handed out ("0"
   * when none was since the last rewind: then nothing of it is pending but the cut-off
   * rest); a stream whose pending entries were read goes on after them, or with new
   * entries once a read of its pending ones found none.
   */
  private cut(read: SourcedEntry[], ofPending: boolean): SourcedEntry[] {
    const merged = mergeById(read, this.streams)
    const batch = merged.slice(0, this.count)
    const rest = merged.slice(this.count)
    this.cursors = this.streams.map((s, i) => {
      const last = batch.findLast((e) => e.stream === s)?.id
      if (last !== undefined) this.handedOut[i] = last
      if (rest.some((e) => e.stream === s)) return this.handedOut[i] ?? "0"
      if (this.cursors[i] === ">") return ">"
      // A stream whose pending entries are drained goes on with new ones.
      return ofPending ? last ?? ">" : this.cursors[i] ?? ">"
    })
    return batch
  }

  rewind(): void {
    this.cursors = this.streams.map(() => "0")
    this.handedOut = this.streams.map(() => undefined)
  }
}

/** Entries of several streams in ID order, ties in the order of `streams` (stable within each stream). */
const mergeById = (entries: SourcedEntry[], streams: readonly string[]): SourcedEntry[] =>
  streams.length === 1 ? entries : entries.sort((a, b) => compareEntryIds(a.id, b.id) || streams.indexOf(a.stream) - streams.indexOf(b.stream))

// ---------------------------------------------------------------- groups and consumers

/** An XINFO reply row (name, value, …) as a record; values keep their types (lag may be nil). */
const infoRecord = (row: readonly unknown[]): Record<string, unknown> => {
  const info: Record<string, unknown> = {}
  for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1]
  return info
}

export interface GroupInfo {
  readonly name: string; readonly consumers: number; readonly pending: number; readonly lag: number | null
  /** The greatest ID delivered to the group's consumers ("0-0" before the first). */
  readonly lastDeliveredId: string
  /** How many entries the group has read (Redis 7 `entries-read`; null when Redis cannot tell). */
  readonly entriesRead: number | null
}

/** The stream's consumer groups (XINFO GROUPS); fails as XINFO does on a missing stream. */
export const groupsOf = async (redis: Redis, stream: string): Promise<GroupInfo[]> =>
  ((await redis.xinfo("GROUPS", stream)) as unknown[][]).map((g) => {
    const m = infoRecord(g)
    const lag = m["lag"] === undefined || m["lag"] === null || m["lag"] === "" ? null : Number(m["lag"])
    return { name: String(m["name"] ?? ""), consumers: Number(m["consumers"]), pending: Number(m["pending"]), lag,
      lastDeliveredId: String(m["last-delivered-id"] ?? "0-0"),
      entriesRead: m["entries-read"] === undefined || m["entries-read"] === null ? null : Number(m["entries-read"])
    }
  })

export interface ConsumerInfo { readonly name: string; readonly pending: number; readonly idleMs: number }

/** The group's consumers (XINFO CONSUMERS); fails as XINFO does (no stream, NOGROUP). */
export const consumersOf = async (redis: Redis, stream: string, group: string): Promise<ConsumerInfo[]> =>
  ((await redis.xinfo("CONSUMERS", stream, group)) as unknown[][]).map((c) => {
    const m = infoRecord(c)
    return { name: String(m["name"]), pending: Number(m["pending"] ?? 0), idleMs: Number(m["idle"] ?? 0) }
  })

/**
 * The group's consumers, or none while the stream or the group does not exist yet (a loop
 * creates its group when it starts: until then nobody reads). Any other failure throws.
 */
export const consumersIfAny = async (redis: Redis, stream: string, group: string): Promise<ConsumerInfo[]> => {
  if ((await redis.exists(stream)) === 0) return []
  try {
    return await consumersOf(redis, stream, group)
  } catch (e) {
    if (String((e as Error).message).includes("NOGROUP")) return []
    throw e
  }
}

/**
 * Forget consumers of the group that hold nothing and have been silent longer than
 * `idleMs` (processes that stopped or died, when each names its consumers after its pid).
 */
export const forgetIdleConsumers = async (redis: Redis, stream: string, group: string, idleMs: number): Promise<number> => {
  let removed = 0
  for (const c of await consumersOf(redis, stream, group)) {
    if (c.pending === 0 && c.idleMs > idleMs && c.name) {
      await redis.xgroup("DELCONSUMER", stream, group, c.name)
      removed++
    }
  }
  return removed
}

/** pending + lag of a consumer group, or undefined when the stream or the group does not exist yet. */
export const groupBacklog = async (redis: Redis, stream: string, group: string): Promise<number | undefined> => {
  if ((await redis.exists(stream)) === 0) return undefined
  for (const g of (await redis.xinfo("GROUPS", stream)) as unknown[][]) {
    const info = infoRecord(g)
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

/**
 * Up to `count` entries never delivered to anyone, without waiting when there are none
 * (no BLOCK: a look at one stream among several before blocking on one of them).
 */
export const pollNew = async (
  redis: Redis, stream: string, group: string, consumer: string, count: number
): Promise<ClaimedEntry[]> => {
  const reply = (await redis.xreadgroup("GROUP", group, consumer, "COUNT", count, "STREAMS", stream, ">")) as ReadReply
  return entriesOfReply(reply).map((e) => ({ ...e, deliveries: 1 }))
}

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

/**
 * Whether each entry is still in the stream and still pending in the group (one pipeline):
 * an entry that is neither was removed where no reader noticed.
 */
export const entryStates = async (
  redis: Redis, stream: string, group: string, ids: readonly string[]
): Promise<{ readonly present: boolean; readonly pending: boolean }[]> => {
  if (ids.length === 0) return []
  const pipeline = redis.pipeline()
  for (const id of ids) {
    pipeline.xrange(stream, id, id, "COUNT", 1)
    pipeline.xpending(stream, group, id, id, 1)
  }
  const replies = (await pipeline.exec()) ?? []
  return ids.map((_, i) => {
    const [present, pending] = [replies[2 * i], replies[2 * i + 1]]
    const err = present?.[0] ?? pending?.[0]
    if (err || !present || !pending) throw err ?? new Error("a reply of the entry check is missing")
    return { present: (present[1] as unknown[]).length > 0, pending: (pending[1] as unknown[]).length > 0 }
  })
}

/**
 * Give an entry in hand back to the group: mark it idle for `idleMs` (XCLAIM … IDLE JUSTID,
 * no delivery counted), so a reclaim by another consumer takes it at once.
 */
export const handBack = async (redis: Redis, stream: string, group: string, consumer: string, id: string, idleMs: number): Promise<void> => {
  await redis.xclaim(stream, group, consumer, 0, id, "IDLE", idleMs, "JUSTID")
}

/**
 * The greatest XRANGE end up to which a group has applied every entry:
 * `(first pending` when something is pending, else its last delivered ID; undefined when
 * the group does not exist yet.
 */
export const appliedBound = async (redis: Redis, scores: string, group: string): Promise<string | undefined> => {
  if ((await redis.exists(scores)) === 0) return undefined
  // One MULTI: both answers describe the same instant.
  const res = await redis.multi().xinfo("GROUPS", scores).xpending(scores, group).exec()
  const [infoErr, info] = res?.[0] ?? []
  const [pendErr, pend] = res?.[1] ?? []
  if (infoErr || pendErr) {
    if (/NOGROUP/.test(String(pendErr ?? infoErr))) return undefined
    throw infoErr ?? pendErr
  }
  let delivered: string | undefined
  for (const g of info as unknown[][]) {
    // An XINFO reply, not a stream entry: name/value pairs of a group.
    const at = (name: string) => g[g.indexOf(name) + 1]
    if (at("name") === group) delivered = String(at("last-delivered-id"))
  }
  if (delivered === undefined || delivered === "0-0") return undefined
  const [count, first] = pend as [number, string | null]
  return Number(count) > 0 && first ? `(${first}` : delivered
}

