/**
 * The engine's membership of its install: a heartbeat every third of lease.ttl_ms on
 * Redis' clock (streams/membership.ts), and after each one the partition plan
 * (partition-plan.ts) handed to the engine's `onPlan`, which takes and gives up partition
 * leases. `leave()` ends the membership at once (graceful shutdown), so the others take
 * this engine's partitions on their next heartbeat instead of after the TTL.
 *
 * Redis away: each failure is logged and the heartbeat retried on the loops' schedule
 * (services/retry.ts), never faster than it, never slower than a heartbeat period; the
 * keeper never fails. Membership lapses on Redis' clock a TTL after the last renewal that
 * Redis ran, which is no sooner than a TTL after the request was sent. The keeper counts
 * that pessimistically, like the lease's local view: from the send time of the last
 * heartbeat that succeeded, on the monotonic clock, minus a tenth. Past it, this engine
 * may no longer be a member and the others may own its partitions, so the plan says to
 * release every partition held (and says so again after every failed attempt until a
 * heartbeat succeeds). A heartbeat after a lapse re-joins as a new member when Redis
 * removed this one: the plan then gives it nothing until its debounce ends.
 * Does not hold leases or run ingest: the engine does, with what the plan says.
 */
import { Effect, Schedule } from "effect"
import type { Redis } from "ioredis"
import { membershipKeys, type MembershipKeys } from "../../streams/keys.ts"
import { heartbeat, leave, type MembershipView } from "../../streams/membership.ts"
import { redisError, tryRedis, type RedisError } from "../services/errors.ts"
import type { Logger } from "../services/logger.ts"
import { RETRY_STEP } from "../services/retry.ts"
import { planPartitions, releaseAllPlan, type PartitionPlan } from "./partition-plan.ts"

export interface MembershipOptions {
  readonly redis: Redis
  /** redis.prefix. */
  readonly prefix: string
  /** This process's owner id (streams/lease.ts newOwnerId), the one its partition leases use. */
  readonly owner: string
  /** partitions. */
  readonly count: number
  /** lease.ttl_ms: the membership's TTL; the heartbeat runs every third of it. */
  readonly ttlMs: number
  /** lease.join_debounce_ms. */
  readonly debounceMs: number
  readonly log: Logger
  /** The partitions this process holds now; read at every heartbeat. */
  readonly held: () => Iterable<number>
  /**
   * What to take and give up, after every heartbeat (with the view it was planned from)
   * and after a lapse (view undefined: release all). A failure is logged and counted; the
   * next heartbeat plans again from what is held then. It is awaited before the next
   * heartbeat: start the takes and releases, do not wait on anything slow (a drain).
   */
  readonly onPlan: (plan: PartitionPlan, view: MembershipView | undefined) => void | Promise<void>
}

export class MembershipKeeper {
  readonly keys: MembershipKeys
  /** The heartbeat period: a third of the TTL. */
  readonly periodMs: number
  private readonly validityMs: number
  /** performance.now() after which this process may no longer be a member. */
  private validUntil = 0
  private sinceMs: number | undefined
  private memberIds = ""
  private lapsed = false
  private left = false
  private last: MembershipView | undefined
  /** onPlan calls that threw or rejected. */
  planFailures = 0
  /** Heartbeats that failed. */
  heartbeatFailures = 0

  constructor(private readonly o: MembershipOptions) {
    this.keys = membershipKeys(o.prefix)
    this.periodMs = Math.max(1, Math.floor(o.ttlMs / 3))
    this.validityMs = o.ttlMs - Math.ceil(o.ttlMs / 10)
  }

  /** The view of the last heartbeat that succeeded. */
  get view(): MembershipView | undefined {
    return this.last
  }

  /**
   * One heartbeat and the plan from it, handed to onPlan; nothing once left. A heartbeat
   * that has no answer when the membership may lapse (or after a period, whichever is
   * later) fails: a connection that hangs must not hold up the lapse.
   */
  readonly tick: Effect.Effect<void, RedisError> = Effect.suspend(() => {
    if (this.left) return Effect.void
    const sent = performance.now()
    const waitMs = Math.max(this.periodMs, Math.ceil(this.validUntil - sent))
    return tryRedis("renew the engine's membership", () => heartbeat(this.o.redis, this.keys, this.o.owner, this.o.ttlMs, this.o.debounceMs)).pipe(
      Effect.timeoutOrElse({
        duration: `${waitMs} millis`,
        orElse: () => Effect.fail(redisError("renew the engine's membership", new Error(`no answer from Redis within ${waitMs} ms`)))
      }),
      Effect.flatMap((view) => (this.left ? Effect.void : this.planFrom(view, sent)))
    )
  })

  /** Heartbeat every period for as long as the fiber lives (fork it in the engine's scope); never fails. */
  get run(): Effect.Effect<never> {
    return this.tick.pipe(
      Effect.tapError((e) => this.failed(e)),
      Effect.retry(Schedule.min([RETRY_STEP, Schedule.spaced(`${this.periodMs} millis`)])),
      // The schedule never ends; were it to, the failure is already logged and the loop goes on.
      Effect.catchTag("RedisError", () => Effect.void),
      Effect.andThen(Effect.sleep(`${this.periodMs} millis`)),
      Effect.forever
    )
  }

  /**
   * End the membership now (graceful shutdown); true when this process was a member. A
   * failure is logged. Heartbeats after it do nothing, so a `run` still going cannot re-join.
   */
  async leave(): Promise<boolean> {
    this.left = true
    this.validUntil = 0
    try {
      const was = await leave(this.o.redis, this.keys, this.o.owner)
      this.o.log.info({ owner: this.o.owner, was }, "left the install's members")
      return was
    } catch (e) {
      this.o.log.warn({ owner: this.o.owner, err: redisError("leave the install's members", e).message },
        "could not leave the install's members; the membership ends by its TTL")
      return false
    }
  }

  private planFrom(view: MembershipView, sent: number): Effect.Effect<void> {
    this.validUntil = sent + this.validityMs
    this.last = view
    const self = view.members.find((m) => m.id === this.o.owner)
    if (this.lapsed) {
      this.o.log.info({ owner: this.o.owner }, "membership heartbeat renewed again")
      this.lapsed = false
    }
    if (self !== undefined && this.sinceMs !== undefined && self.sinceMs !== this.sinceMs) {
      this.o.log.warn({ owner: this.o.owner, sinceMs: self.sinceMs, previousSinceMs: this.sinceMs },
        "this engine's membership had ended on Redis' clock and began again: it takes partitions only after the join debounce")
    }
    this.sinceMs = self?.sinceMs
    const ids = view.members.map((m) => m.id).sort().join(" ")
    if (ids !== this.memberIds) {
      this.o.log.info({ owner: this.o.owner, members: view.members.map((m) => m.id).sort() }, "the install's members changed")
      this.memberIds = ids
    }
    // A reply slower than the validity proves nothing about now.
    const plan = performance.now() < this.validUntil
      ? planPartitions({ self: this.o.owner, members: view.members, nowMs: view.nowMs, count: this.o.count, debounceMs: this.o.debounceMs, held: this.o.held() })
      : releaseAllPlan(this.o.held())
    return this.hand(plan, view)
  }

  private failed(e: RedisError): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.heartbeatFailures += 1
      this.o.log.warn({ owner: this.o.owner, err: e.message, failures: this.heartbeatFailures }, "membership heartbeat failed; retrying")
      if (performance.now() < this.validUntil) return Effect.void
      if (!this.lapsed) {
        this.lapsed = true
        this.o.log.error({ owner: this.o.owner },
          "membership may have lapsed (no heartbeat renewed it within its TTL): giving up every partition until a heartbeat succeeds")
      }
      return this.hand(releaseAllPlan(this.o.held()), undefined)
    })
  }

  private hand(plan: PartitionPlan, view: MembershipView | undefined): Effect.Effect<void> {
    if (plan.take.length > 0 || plan.release.length > 0) {
      this.o.log.info({ owner: this.o.owner, take: plan.take, release: plan.release, desired: plan.desired }, "partition plan")
    }
    return Effect.tryPromise(async () => this.o.onPlan(plan, view)).pipe(
      Effect.catch((e) => Effect.sync(() => {
        this.planFailures += 1
        const cause: unknown = e.cause
        this.o.log.error({ owner: this.o.owner, err: cause instanceof Error ? cause.message : String(cause), failures: this.planFailures },
          "the engine could not act on the partition plan; planning again at the next heartbeat")
      }))
    )
  }
}
