/**
 * A singleton lease in Redis: the one process that may do a piece of work — a partition's
 * lease (who applies its atomic steps) or the ingress router's (who routes). A holder is an owner id (random per process start) and an epoch (a counter
 * that only grows, INCR under the partition's hash tag); the lease expires on Redis' clock
 * (PEXPIRE) unless its holder renews it, and the atomic step's guard refuses any step whose
 * owner and epoch are not the lease's (fencing, see atomic-step.ts).
 *
 * The local view (`held`) is deliberately pessimistic: it counts the validity from the
 * moment a request was sent, on the monotonic clock, minus a margin, so it only ever says
 * "not held" sooner than Redis does. Redis stays the authority; the guard catches the rest.
 * Does not loop, sleep or log: the engine renews the lease on a schedule and reports.
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import type { Redis } from "ioredis"
import type { LeaseKeys, PartitionKeys } from "./keys.ts"

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8")
const ACQUIRE = lua("lease-acquire-2.lua")
const RENEW = lua("lease-renew-1.lua")
const RELEASE = lua("lease-release-1.lua")

type Reply = (string | number)[]
type WithLease = Redis & {
  strataLeaseAcquire(lease: string, epochs: string, owner: string, ttlMs: number): Promise<Reply>
  strataLeaseRenew(lease: string, owner: string, epoch: string, ttlMs: number): Promise<Reply>
  strataLeaseRelease(lease: string, owner: string, epoch: string): Promise<number>
}

const defineLease = (redis: Redis): WithLease => {
  if (!("strataLeaseAcquire" in redis)) {
    redis.defineCommand("strataLeaseAcquire", { numberOfKeys: 2, lua: ACQUIRE })
    redis.defineCommand("strataLeaseRenew", { numberOfKeys: 1, lua: RENEW })
    redis.defineCommand("strataLeaseRelease", { numberOfKeys: 1, lua: RELEASE })
  }
  return redis as WithLease
}

export interface LeaseHolder {
  readonly owner: string
  readonly epoch: string
}

export type AcquireResult =
  | { readonly held: true; readonly epoch: string }
  | { readonly held: false; readonly holder: LeaseHolder; readonly pttlMs: number }

export type RenewResult =
  | { readonly renewed: true }
  /** `holder` is undefined when nobody holds the lease (it expired). */
  | { readonly renewed: false; readonly holder: LeaseHolder | undefined }

/** host:pid:random — unique per process start, and tells an operator where the holder runs. */
export const newOwnerId = (): string => `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`

/** A lease over any keys that name it: `LeaseKeys` (the partitions' and the router's). */
export class Lease<K extends LeaseKeys = LeaseKeys> {
  private heldEpoch: string | undefined
  /** performance.now() after which the local view no longer trusts the lease. */
  private validUntil = 0
  private readonly validityMs: number

  constructor(
    private readonly redis: Redis,
    readonly keys: K,
    readonly ttlMs: number,
    readonly owner: string = newOwnerId()
  ) {
    // A tenth of the TTL covers the request's own delay and clock-rate differences.
    this.validityMs = ttlMs - Math.ceil(ttlMs / 10)
  }

  /** The epoch this process believes it holds, or undefined. */
  get epoch(): string | undefined {
    return this.heldEpoch
  }

  /** The fence for a step: the lease, when the local view trusts it for `forMs` more ms. */
  held(forMs = 0): LeaseHolder | undefined {
    if (this.heldEpoch === undefined || performance.now() + forMs >= this.validUntil) return undefined
    return { owner: this.owner, epoch: this.heldEpoch }
  }

  /** Take the lease if it is free (next epoch) or already ours (same epoch, fresh TTL). */
  async acquire(): Promise<AcquireResult> {
    const sent = performance.now()
    const r = await defineLease(this.redis).strataLeaseAcquire(this.keys.lease, this.keys.leaseEpoch, this.owner, this.ttlMs)
    if (Number(r[0]) === 1) {
      this.heldEpoch = String(r[1])
      this.validUntil = sent + this.validityMs
      return { held: true, epoch: this.heldEpoch }
    }
    this.heldEpoch = undefined
    return { held: false, holder: { owner: String(r[1]), epoch: String(r[2]) }, pttlMs: Number(r[3]) }
  }

  /** Extend the lease this process holds; on a refusal the local view drops it. */
  async renew(): Promise<RenewResult> {
    const epoch = this.heldEpoch
    if (epoch === undefined) return { renewed: false, holder: undefined }
    const sent = performance.now()
    const r = await defineLease(this.redis).strataLeaseRenew(this.keys.lease, this.owner, epoch, this.ttlMs)
    if (Number(r[0]) === 1) {
      if (this.heldEpoch === epoch) this.validUntil = sent + this.validityMs
      return { renewed: true }
    }
    this.heldEpoch = undefined
    const owner = String(r[1] ?? "")
    return { renewed: false, holder: owner === "" ? undefined : { owner, epoch: String(r[2]) } }
  }

  /** The step was fenced: whatever the local view said, this process does not hold the lease. */
  lost(): void {
    this.heldEpoch = undefined
  }

  /** Give the lease up (graceful shutdown); true when it was ours. */
  async release(): Promise<boolean> {
    const epoch = this.heldEpoch
    this.heldEpoch = undefined
    if (epoch === undefined) return false
    return (await defineLease(this.redis).strataLeaseRelease(this.keys.lease, this.owner, epoch)) === 1
  }
}

export interface LeaseState extends LeaseHolder {
  /** Redis TIME (ms) at which this holder took the lease. */
  readonly sinceMs: number
}

/** Who holds a lease now, as Redis has it (for operators); undefined when nobody does. Takes nothing. */
export const readLease = async (redis: Redis, keys: LeaseKeys): Promise<LeaseState | undefined> => {
  const [owner, epoch, since] = await redis.hmget(keys.lease, "owner", "epoch", "since_ms")
  return owner ? { owner, epoch: epoch ?? "", sinceMs: Number(since ?? 0) } : undefined
}

/** The lease of one partition: who applies the partition's atomic steps. */
export class PartitionLease extends Lease<PartitionKeys> {}
