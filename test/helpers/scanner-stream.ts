/**
 * A deterministic synthetic scanner stream: seeded random-walk scores for many symbols,
 * with explicit entry IDs and event times, a share of late events and of bad entries.
 * The same seed always gives the same entries, so two namespaces can be fed identically.
 */
import type { Redis } from "ioredis"
import type { StreamEntry } from "../../src/engine/batch.ts"

/** mulberry32: a tiny seeded PRNG, enough for test data. */
export const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export interface StreamSpec {
  readonly events: number
  readonly symbols: number
  readonly seed: number
  /** Event time of the first entry; entry i is stamped start + i * stepMs. */
  readonly start: number
  readonly stepMs: number
  readonly lateShare?: number
  readonly badShare?: number
}

export const symbolName = (i: number): string => `S${i.toString(36).toUpperCase().padStart(4, "0")}`

export const scannerStream = (spec: StreamSpec): StreamEntry[] => {
  const rand = prng(spec.seed)
  const level = Array.from({ length: spec.symbols }, () => [rand(), rand(), rand()])
  const entries: StreamEntry[] = []
  for (let i = 0; i < spec.events; i++) {
    const s = Math.floor(rand() * spec.symbols)
    const l = level[s] as number[]
    for (let k = 0; k < 3; k++) l[k] = Math.min(1, Math.max(0, (l[k] as number) + (rand() - 0.5) * 0.3))
    let ts = spec.start + i * spec.stepMs
    const roll = rand()
    if (roll < (spec.lateShare ?? 0)) ts -= 30 * 60_000
    const fields = ["symbol", symbolName(s), "ts", String(ts), "liquidity", (l[0] as number).toFixed(3)]
    // Not every event carries every score.
    if (rand() < 0.7) fields.push("catalyst", (l[1] as number).toFixed(3))
    if (rand() < 0.6) fields.push("activity", (l[2] as number).toFixed(3))
    if (roll > 1 - (spec.badShare ?? 0)) fields[5] = "NaN"
    entries.push({ id: `${spec.start + i}-1`, fields })
  }
  return entries
}

/** XADD entries under their own IDs, pipelined in chunks. */
export const xaddAll = async (redis: Redis, stream: string, entries: readonly StreamEntry[], chunk = 500): Promise<void> => {
  for (let i = 0; i < entries.length; i += chunk) {
    const p = redis.pipeline()
    for (const e of entries.slice(i, i + chunk)) p.xadd(stream, e.id, ...e.fields)
    const res = await p.exec()
    const err = res?.find(([e]) => e)?.[0]
    if (err) throw err
  }
}
