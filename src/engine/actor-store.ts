/**
 * Actor snapshots of one partition: an in-memory cache over the snapshots hash in Redis.
 * Idle actors are passivated (only their persisted snapshot remains, in Redis) once the
 * cache is full, and rehydrated on their next event. The cache only ever holds what the
 * atomic step has committed, or the batch whose step is in flight (ingest.overlap); after a
 * failed step it is dropped and read back lazily.
 * `scan` reads every persisted actor, passivated ones included, without caching them
 * (the staleness index is rebuilt from it).
 * Stored snapshots are read through snapshot-codec.ts, in any version it reads; one it
 * refuses is not cached (nor replaced by a fresh actor): `refused` says why, and the batch
 * dead-letters that symbol's entries until the stored snapshot is repaired or deleted.
 */
import type { Redis } from "ioredis"
import type { Lifecycle, LifecycleState, PersistedActor } from "../../machines/lifecycle.ts"
import { decodeActor } from "../../machines/snapshot-codec.ts"
import { fieldRecord } from "../../streams/entry.ts"

/** Snapshots hash fields read per HSCAN call. */
const SCAN_COUNT = 2_000

export class ActorStore {
  private readonly cache = new Map<string, LifecycleState>()
  /** Symbols of the last `load` whose stored snapshot could not be read, and why. */
  private readonly unreadable = new Map<string, string>()

  constructor(
    private readonly redis: Redis,
    private readonly snapshotsKey: string,
    private readonly lifecycle: Lifecycle,
    readonly capacity: number
  ) {}

  get size(): number {
    return this.cache.size
  }

  /** Make sure every symbol is in the cache (read from Redis, or initial). */
  async load(symbols: Iterable<string>): Promise<void> {
    // Refused ones are read again: a repaired snapshot is taken up by the next batch.
    this.unreadable.clear()
    const missing = [...new Set(symbols)].filter((s) => !this.cache.has(s))
    if (missing.length === 0) return
    const values = await this.redis.hmget(this.snapshotsKey, ...missing)
    missing.forEach((symbol, i) => {
      const text = values[i]
      if (!text) {
        this.cache.set(symbol, this.lifecycle.initial())
        return
      }
      const decoded = decodeActor(text)
      if (decoded.ok) this.cache.set(symbol, decoded.actor)
      else this.unreadable.set(symbol, decoded.reason)
    })
  }

  /** Why the stored snapshot of a symbol of the last `load` cannot be read; undefined when it can. */
  refused(symbol: string): string | undefined {
    return this.unreadable.size === 0 ? undefined : this.unreadable.get(symbol)
  }

  /** The cached snapshot; call `load` first. */
  get(symbol: string): LifecycleState {
    return this.cache.get(symbol) ?? this.lifecycle.initial()
  }

  /** Record snapshots the atomic step has committed, then passivate the least recently touched. */
  commit(snapshots: Map<string, LifecycleState>): void {
    for (const [symbol, snap] of snapshots) {
      // Re-inserting moves the symbol to the end: Map order is least-recently-touched first.
      this.cache.delete(symbol)
      this.cache.set(symbol, snap)
    }
    let excess = this.cache.size - this.capacity
    if (excess <= 0) return
    for (const symbol of this.cache.keys()) {
      if (excess-- <= 0) break
      this.cache.delete(symbol)
    }
  }

  clear(): void {
    this.cache.clear()
  }

  /**
   * Visit every persisted actor in Redis, page by page; returns how many there were, and
   * how many stored snapshots could not be read (not visited).
   */
  async scan(visit: (symbol: string, persisted: PersistedActor) => void): Promise<{ actors: number; refused: number }> {
    let cursor = "0"
    let actors = 0
    let refused = 0
    do {
      const [next, flat] = await this.redis.hscan(this.snapshotsKey, cursor, "COUNT", SCAN_COUNT)
      for (const [symbol, text] of Object.entries(fieldRecord(flat))) {
        const decoded = decodeActor(text)
        if (decoded.ok) {
          visit(symbol, decoded.actor)
          actors++
        } else {
          refused++
        }
      }
      cursor = next
    } while (cursor !== "0")
    return { actors, refused }
  }
}
