/**
 * The from→to chain of every symbol in a lifecycle stream, checked against the persisted
 * snapshots: each symbol's first event leaves layer 0, each next one leaves the layer the
 * previous one entered, and the last one enters the layer its snapshot holds.
 */
import type { Redis } from "ioredis"
import type { PartitionKeys } from "../../streams/keys.ts"

/** Symbols whose chain is broken, each with the first break found. */
export const brokenChains = async (redis: Redis, keys: PartitionKeys): Promise<string[]> => {
  const last = new Map<string, number>()
  const broken = new Map<string, string>()
  for (const [id, f] of await redis.xrange(keys.lifecycle, "-", "+")) {
    const o: Record<string, string> = {}
    for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string
    const symbol = o["symbol"] as string
    const from = Number(o["from"])
    const expected = last.get(symbol) ?? 0
    if (from !== expected && !broken.has(symbol)) broken.set(symbol, `${symbol}: entry ${id} leaves ${from}, the chain is at ${expected}`)
    last.set(symbol, Number(o["to"]))
  }
  for (const [symbol, json] of Object.entries(await redis.hgetall(keys.snapshots))) {
    const layer = (JSON.parse(json) as { layer: number }).layer
    const at = last.get(symbol) ?? 0
    if (layer !== at && !broken.has(symbol)) broken.set(symbol, `${symbol}: snapshot at ${layer}, the chain ends at ${at}`)
  }
  return [...broken.values()]
}
