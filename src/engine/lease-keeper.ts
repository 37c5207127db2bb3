/**
 * A process's side of a lease (streams/lease.ts): take a partition lease at start — waiting
 * out a holder that may have died, refusing to start beside one that is alive — and, for
 * any lease (a partition's, the router's), renew it every third of its TTL, take it again
 * after it was lost (or when it is free: a router that did not hold it at start), and give
 * it up at shutdown. Every change of hands is logged. Does not step or read streams: ingest
 * and the router ask `held()`.
 */
import { redisError, tryRedis } from "../services/errors.ts"
import { Effect, Schedule } from "effect"
import type { LeaseKeys } from "../../streams/keys.ts"
import type { Lease } from "../../streams/lease.ts"
import type { Logger } from "../services/logger.ts"

/** A live engine holds the lease: this one must not start. */
export class LeaseHeldError extends Error {
  override readonly name = "LeaseHeldError"
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const heldMessage = (prefix: string, partition: number | undefined, owner: string, epoch: string) =>
  `another engine holds the ${partition === undefined ? "router's lease" : `lease of partition ${partition}`} under prefix "${prefix}" (owner ${owner}, epoch ${epoch}) ` +
  `and keeps renewing it: only one engine may run against one install. Stop that engine first, or give this one another redis.prefix.`

/**
 * Take the lease before anything else starts. A holder seen at start may be a process that
 * died (kill -9): its lease ends after the TTL Redis reports. A holder that still holds it
 * after that, or any other holder appearing meanwhile, is alive: refuse (LeaseHeldError).
 */
export const acquireAtStart = async (lease: Lease<LeaseKeys & { readonly partition?: number }>, prefix: string, log: Logger): Promise<string> => {
  const first = await lease.acquire()
  if (first.held) return first.epoch
  const seen = first.holder
  const partition = lease.keys.partition
  log.warn({ partition, owner: seen.owner, epoch: seen.epoch, expiresInMs: first.pttlMs },
    "another engine holds the partition lease; waiting until its lease ends to see whether it is alive")
  // PTTL -1 (no expiry: set by hand) counts as a full TTL.
  const waitMs = (first.pttlMs >= 0 ? first.pttlMs : lease.ttlMs) + Math.ceil(lease.ttlMs / 10)
  const deadline = performance.now() + waitMs
  for (;;) {
    await sleep(Math.max(10, Math.floor(lease.ttlMs / 20)))
    const r = await lease.acquire()
    if (r.held) {
      log.info({ partition, epoch: r.epoch, previousOwner: seen.owner }, "took over the partition lease of an engine that stopped renewing it")
      return r.epoch
    }
    const changed = r.holder.owner !== seen.owner || r.holder.epoch !== seen.epoch
    if (changed || performance.now() > deadline) throw new LeaseHeldError(heldMessage(prefix, partition, r.holder.owner, r.holder.epoch))
  }
}

const tick = async (lease: Lease, log: Logger): Promise<void> => {
  const name = lease.keys.lease
  const epoch = lease.epoch
  if (epoch !== undefined) {
    const r = await lease.renew()
    if (!r.renewed) {
      log.error({ lease: name, epoch, holder: r.holder ?? "nobody" },
        "lease lost (renewal refused): its work stopped; this process does none of it until it holds the lease again")
    }
    return
  }
  const r = await lease.acquire()
  if (r.held) log.warn({ lease: name, epoch: r.epoch }, "lease taken again: work resumes from what Redis holds (snapshots, pending entries)")
}

/** Renew (or re-take) the lease every third of its TTL, for as long as the scope lives. */
export const keepLease = (lease: Lease, log: Logger) =>
  tryRedis("renew the lease", () => tick(lease, log)).pipe(
    // Redis away: the local view lapses on its own, so the work pauses; keep trying.
    Effect.catchTag("RedisError", (e) => Effect.sync(() => log.warn({ lease: lease.keys.lease, err: e.message }, "lease renewal failed; retrying"))),
    Effect.repeat(Schedule.spaced(`${Math.max(1, Math.floor(lease.ttlMs / 3))} millis`))
  )

/** Give the lease up; a failure is logged (the lease then ends by its TTL). */
export const releaseLease = (lease: Lease, log: Logger) =>
  Effect.promise(() =>
    lease.release().then(
      (released) => log.info({ lease: lease.keys.lease, released }, "lease given up"),
      (e: unknown) => log.warn({ lease: lease.keys.lease, err: redisError("give the lease up", e).message }, "could not give the lease up; it ends by its TTL")
    )
  )
