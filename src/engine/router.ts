/**
 * The ingress router of a partitioned install (`partitions` > 1): copies each entry of the
 * ingress scores stream to the scores stream of its symbol's partition (streams/partition.ts)
 * under its original entry ID, then acknowledges it on the ingress group `strata-router`.
 * One router routes at a time: the holder of the router's lease (streams/lease.ts over
 * `routerKeys`); every engine process runs a Router and whichever holds the lease routes.
 * An entry the scores decoder rejects is dead-lettered on the ingress dead-letter stream,
 * with its reason and a bounded copy, and acknowledged; an accepted entry's fields are
 * copied as read, byte for byte: the decoder accepts only ASCII names and values (a raw
 * symbol may hold other Unicode that trims and upper-cases into range), all valid UTF-8,
 * which reads as text and writes back unchanged; bytes that are not UTF-8 read as U+FFFD, which the
 * decoder rejects, so such an entry is dead-lettered, never altered. The decoder and its
 * limits (ingest.max_fields, ingest.max_value_length) are the engine's own, so the router
 * rejects exactly the entries an engine would. Does not renew the lease (keepLease does), decode for the engine, or
 * read a partition's stream.
 *
 * Why no entry is lost or copied twice:
 * - Per partition, entries are copied in ascending ID order, each batch by one script
 *   (streams/lua/route-copy-2.lua) that skips every ID at or below the stream's last ID.
 *   A batch's scripts for its partitions are sent together (no order between partitions
 *   is kept or needed), and the batch is acknowledged only once every one of them passed.
 *   A router starting under a new epoch first takes over every pending entry of the group
 *   (XAUTOCLAIM from 0: the dead or stale routers' and its own), lowest IDs first, a batch
 *   at a time, and reads new entries ('>') only once nothing is pending. After any failure
 *   it takes over the pending list again, from the start. A router has one batch in hand
 *   and reads the next only once the last is acknowledged, so the pending list is that
 *   batch and, below it, nothing; above it only what a takeover has not reached yet.
 * - kill -9 between a copy and the XACK: the entries stay pending; the next holder takes
 *   them over and copies them again; the IDs already in their partition are skipped, the
 *   rest are copied. No duplicate; the partition stream's order is the ingress order.
 * - A router paused mid-batch that resumes after another took over: its reads are fenced
 *   (route-read-2.lua checks the lease and reads in one step), so every entry it holds was
 *   delivered before the new router took over, and the new router took that same batch
 *   over. Its copies are fenced per partition: the new router sets the partition's
 *   `routerFence` to its epoch with its first copy there, and an older epoch's copy there
 *   is refused whole (FENCED: the old router drops its lease, acknowledges nothing). A
 *   copy the fence lets through (a partition the new router has not written yet) holds
 *   only entries of that batch, which the new router then skips; no entry of a lower ID
 *   can still be coming to that partition, as everything pending lies in or above that
 *   batch. The old router acknowledges only after all its copies passed, so whatever it
 *   acknowledges is in its partitions.
 * - Each router checks its local view of the lease (pessimistic, lease.ts) before each
 *   batch; Redis' fences catch the rest.
 * A dead letter is written before the acknowledgement, so a crash between the two, or a
 * stale router's batch that the new router takes over, may write a rejected entry's dead
 * letter twice (same source_id); never zero times.
 */
import type { Redis } from "ioredis"
import type { Config } from "../../config/schema.ts"
import { stepRefusal } from "../../streams/atomic-step.ts"
import { consumersOf, ensureGroup } from "../../streams/consumer.ts"
import { deadLetterFields } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys, routerKeys, type IngressKeys, type PartitionKeys, type RouterKeys } from "../../streams/keys.ts"
import { Lease, type LeaseHolder } from "../../streams/lease.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { ackRouted, copyToPartition, readFenced, waitForEntries, writeDeadLetters } from "../../streams/route.ts"
import { decodeScoresEntry, type DecodeLimits } from "../../streams/scores-wire.ts"
import type { Logger } from "../services/logger.ts"
import { onConnectionClose } from "../services/redis-client.ts"

export interface RouterStats {
  /** Batches routed to the end (copied, dead-lettered, acknowledged). */
  batches: number
  /** Entries of those batches (copied + skipped + dead). */
  routed: number
  /** Entries added to a partition's stream. */
  copied: number
  /** Entries found in their partition's stream already (copied before a crash or by a stale router). */
  skipped: number
  /** Entries dead-lettered on the ingress dead-letter stream. */
  dead: number
  /** Entries taken over from the pending list (other routers' and this one's). */
  takenOver: number
  /** Pending entries that were no longer in the ingress stream (trimmed before routing). */
  removed: number
  /** Reads or copies refused because another router holds the lease. */
  fenced: number
}

/** The router's lease over the install's router keys (renew it with keepLease). */
export const routerLease = (redis: Redis, config: Config, owner?: string): Lease<RouterKeys> =>
  owner === undefined
    ? new Lease(redis, routerKeys(config.redis.prefix), config.lease.ttl_ms)
    : new Lease(redis, routerKeys(config.redis.prefix), config.lease.ttl_ms, owner)

export class Router {
  readonly ingress: IngressKeys
  readonly keys: RouterKeys
  readonly stats: RouterStats = { batches: 0, routed: 0, copied: 0, skipped: 0, dead: 0, takenOver: 0, removed: 0, fenced: 0 }
  /** The consumer name in the router group: the lease owner, unique per process start. */
  readonly consumer: string
  private readonly partitions: readonly PartitionKeys[]
  private readonly count: number
  private readonly batchSize: number
  private readonly blockMs: number
  private readonly limits: DecodeLimits
  /** The epoch this router last routed under; another one starts with a takeover. */
  private epoch: string | undefined
  /** True until the pending list was emptied under the current epoch. */
  private takingOver = true
  /** Counts the write connection's closes: a read whose reply spanned one is discarded. */
  private connectionEpoch = 0

  /**
   * `reads` blocks while waiting for new entries (a connection of its own); `writes` runs
   * the scripts, like the lease's connection.
   */
  constructor(
    private readonly reads: Redis,
    private readonly writes: Redis,
    config: Config,
    private readonly log: Logger,
    readonly lease: Lease<RouterKeys>
  ) {
    if (config.partitions < 2) throw new Error(`the ingress router serves installs of more than one partition (partitions is ${config.partitions})`)
    this.count = config.partitions
    this.ingress = ingressKeys(config.redis.prefix)
    this.keys = lease.keys
    this.partitions = Array.from({ length: this.count }, (_, p) => partitionKeys(config.redis.prefix, p, this.count))
    this.consumer = lease.owner
    this.batchSize = config.ingest.batch_size
    this.blockMs = config.ingest.block_ms
    this.limits = { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length }
    // As in GroupReader: a read in flight when the connection drops may have delivered
    // entries in a reply that was lost, and ioredis sends the read again, which returns
    // the entries after them. Routing those would put later IDs into a partition before
    // earlier ones, so such a read is discarded and the pending list taken over again.
    onConnectionClose(writes, () => {
      this.connectionEpoch++
    })
  }

  async init(): Promise<void> {
    await ensureGroup(this.writes, this.ingress.scores, GROUPS.router)
  }

  /** Route one batch; returns the number of entries routed (0 when idle or not holding the lease). */
  async runOnce(): Promise<number> {
    // The wait for new entries must end before the local view of the lease could lapse.
    const holder = this.lease.held(this.blockMs)
    if (holder === undefined) {
      await new Promise((r) => setTimeout(r, Math.min(this.blockMs, 100)))
      return 0
    }
    if (holder.epoch !== this.epoch) {
      if (this.epoch !== undefined) this.log.info({ epoch: holder.epoch }, "new router epoch: pending ingress entries are taken over first")
      this.epoch = holder.epoch
      this.takingOver = true
    }
    try {
      const connection = this.connectionEpoch
      const entries = this.takingOver ? await this.takeOver(holder) : await this.readNew(holder)
      if (this.connectionEpoch !== connection) {
        this.takingOver = true
        return 0
      }
      if (entries.length === 0) return 0
      await this.route(entries, holder.epoch)
      return entries.length
    } catch (e) {
      // Whatever was in hand is pending: take the pending list over again, in ID order.
      this.takingOver = true
      if (stepRefusal(e) === "fenced") {
        this.stats.fenced++
        this.lease.lost()
        this.log.error({ epoch: holder.epoch, err: (e as Error).message },
          "router FENCED: another router holds the router lease; nothing acknowledged, routing stopped until this process holds it again")
        return 0
      }
      this.log.warn({ err: e }, "routing step failed; pending ingress entries are taken over again")
      throw e
    }
  }

  private async takeOver(holder: LeaseHolder): Promise<StreamEntry[]> {
    const { entries, removed } = await readFenced(this.writes, this.ingress, this.keys, holder, GROUPS.router, this.consumer, this.batchSize, "pending")
    if (removed.length > 0) {
      this.stats.removed += removed.length
      this.log.warn({ removed: removed.length, first: removed[0] }, "pending ingress entries were removed from the stream before they were routed")
    }
    if (entries.length > 0) {
      this.stats.takenOver += entries.length
      return entries
    }
    if (removed.length > 0) return []
    this.takingOver = false
    await this.forgetOtherConsumers()
    return []
  }

  /** Consumers of stopped routers hold nothing once taken over: forget them (the group stays small). */
  private async forgetOtherConsumers(): Promise<void> {
    for (const c of await consumersOf(this.writes, this.ingress.scores, GROUPS.router)) {
      if (c.name !== this.consumer && c.pending === 0) await this.writes.xgroup("DELCONSUMER", this.ingress.scores, GROUPS.router, c.name)
    }
  }

  private async readNew(holder: LeaseHolder): Promise<StreamEntry[]> {
    const { entries, lastId } = await readFenced(this.writes, this.ingress, this.keys, holder, GROUPS.router, this.consumer, this.batchSize, "new")
    if (entries.length === 0) await waitForEntries(this.reads, this.ingress.scores, lastId, this.blockMs)
    return entries
  }

  /** Copy, partition by partition, dead-letter the rejected, then acknowledge the batch. */
  private async route(entries: readonly StreamEntry[], epoch: string): Promise<void> {
    const byPartition = new Map<number, StreamEntry[]>()
    const dead: string[][] = []
    for (const entry of entries) {
      const v = verdict(entry, this.limits)
      if ("reason" in v) {
        dead.push(deadLetterFields(entry, v.reason))
        continue
      }
      const p = symbolPartition(v.symbol, this.count)
      const list = byPartition.get(p)
      if (list) list.push(entry)
      else byPartition.set(p, [entry])
    }
    // Every partition's copy at once: each is one script on its own partition's keys, so
    // their order does not matter, and one after another a batch would wait a round trip
    // per partition, each behind the atomic steps sharing the connection.
    const copies = await Promise.allSettled([...byPartition].map(([p, list]) =>
      copyToPartition(this.writes, this.partitions[p] as PartitionKeys, epoch, list)))
    const refused = copies.flatMap((c) => (c.status === "rejected" ? [c.reason as unknown] : []))
    // Nothing is acknowledged unless every copy passed; a fence outranks any other failure.
    if (refused.length > 0) throw refused.find((e) => stepRefusal(e) === "fenced") ?? refused[0]
    let copied = 0
    let skipped = 0
    for (const c of copies) {
      if (c.status === "rejected") continue
      copied += c.value.copied
      skipped += c.value.skipped
    }
    await writeDeadLetters(this.writes, this.ingress, dead)
    await ackRouted(this.writes, this.ingress, GROUPS.router, entries.map((e) => e.id))
    const s = this.stats
    s.batches++; s.routed += entries.length; s.copied += copied; s.skipped += skipped; s.dead += dead.length
  }
}

/**
 * The decoder's verdict on an entry: its symbol when the engine will accept it, else the
 * reason it is rejected for. The decoder is total; should it ever throw, the entry is
 * dead-lettered rather than the loop stopped.
 */
const verdict = (entry: StreamEntry, limits: DecodeLimits): { readonly symbol: string } | { readonly reason: string } => {
  try {
    const d = decodeScoresEntry(entry.id, entry.fields, limits)
    return d.ok ? { symbol: d.symbol } : { reason: d.reason }
  } catch (e) {
    return { reason: `could not be decoded: ${e instanceof Error ? e.message : String(e)}` }
  }
}
