/**
 * A fixed-capacity ring buffer: pushing past capacity drops the oldest item, so memory
 * stays bounded however long the process runs. Pure; no clock, no I/O.
 */
export class Ring<T> {
  private readonly items: (T | undefined)[]
  private start = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a positive integer, got ${capacity}`)
    this.items = new Array<T | undefined>(capacity)
  }

  get size(): number {
    return this.count
  }

  push(item: T): void {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item
      this.count++
    } else {
      this.items[this.start] = item
      this.start = (this.start + 1) % this.capacity
    }
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = []
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.capacity] as T)
    return out
  }

  last(): T | undefined {
    return this.count === 0 ? undefined : this.items[(this.start + this.count - 1) % this.capacity]
  }
}

/**
 * Up to `capacity` values kept as a uniform sample of everything offered (reservoir
 * sampling, Algorithm R), so a quantile of a busy interval costs bounded memory. The
 * replacement choice comes from a seeded generator: the same inputs keep the same sample.
 */
export class Reservoir {
  private values: number[] = []
  private seen = 0
  private seed: number

  constructor(readonly capacity: number, seed = 1) {
    this.seed = seed >>> 0 || 1
  }

  offer(v: number): void {
    this.seen++
    if (this.values.length < this.capacity) { this.values.push(v); return }
    // xorshift32: cheap, seeded, good enough to pick a slot.
    let x = this.seed
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    this.seed = x >>> 0
    const j = this.seed % this.seen
    if (j < this.capacity) this.values[j] = v
  }

  /** The sampled values (sorted ascending) and how many were offered, then empty. */
  drain(): { sorted: number[]; seen: number } {
    const out = { sorted: this.values.sort((a, b) => a - b), seen: this.seen }
    this.values = []
    this.seen = 0
    return out
  }
}

/** The q-quantile (0..1) of ascending values by nearest rank; undefined when empty. */
export const quantile = (sorted: readonly number[], q: number): number | undefined => {
  if (sorted.length === 0) return undefined
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]
}
