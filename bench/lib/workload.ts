/**
 * Deterministic synthetic scanner streams for the bench and the replay tests: seeded
 * random-walk scores for N symbols, explicit event times, optional late and malformed
 * entries. The same spec always gives the same entries. Pure.
 */
import type { StreamEntry } from "../../streams/entry.ts"

/** mulberry32: a small seeded PRNG. */
export const prng = (seed: number): (() => number) => {
  let s = seed | 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Symbol i as a valid ticker ("B0000A" style), stable across runs. */
export const benchSymbol = (i: number): string => `B${i.toString(36).toUpperCase().padStart(5, "0")}`

export interface WorkloadSpec {
  readonly events: number
  readonly symbols: number
  readonly seed: number
  /** Event time (ms) of the first entry; entry i is stamped start + i * stepMs. */
  readonly start: number
  readonly stepMs: number
  /** Share of entries stamped 30 minutes back (late). */
  readonly lateShare?: number
  /** Share of entries with a malformed score (dead-lettered). */
  readonly badShare?: number
}

/** Entries with IDs `<start + i>-0` and a `ts` field, in ascending ID order. */
export function* workload(spec: WorkloadSpec): Generator<StreamEntry> {
  const rand = prng(spec.seed)
  const level = new Float64Array(spec.symbols * 3)
  for (let i = 0; i < level.length; i++) level[i] = rand()
  for (let i = 0; i < spec.events; i++) {
    const s = Math.floor(rand() * spec.symbols)
    for (let k = 0; k < 3; k++) {
      const v = (level[s * 3 + k] as number) + (rand() - 0.5) * 0.4
      level[s * 3 + k] = v < 0 ? 0 : v > 1 ? 1 : v
    }
    const roll = rand()
    const ts = spec.start + i * spec.stepMs - (roll < (spec.lateShare ?? 0) ? 30 * 60_000 : 0)
    const fields = ["symbol", benchSymbol(s), "ts", String(ts), "liquidity", (level[s * 3] as number).toFixed(3)]
    if (rand() < 0.7) fields.push("catalyst", (level[s * 3 + 1] as number).toFixed(3))
    if (rand() < 0.6) fields.push("activity", (level[s * 3 + 2] as number).toFixed(3))
    if (roll > 1 - (spec.badShare ?? 0)) fields[5] = "n/a"
    yield { id: `${spec.start + i}-0`, fields }
  }
}

export const workloadArray = (spec: WorkloadSpec): StreamEntry[] => [...workload(spec)]
