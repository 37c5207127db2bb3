/**
 * An install's outputs symbol by symbol, whatever its partition count: each symbol's
 * snapshot (and the partition it was found in), its lifecycle and backfill entries in
 * entry order (fields only, IDs aside), the rejected entries' sources and the companies
 * table. Two installs fed the same scores end alike when these are equal.
 */
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { fieldRecord } from "../../streams/entry.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { groupDone } from "./partitioned.ts"
import type { TestNamespace } from "./namespace.ts"

const bySymbol = async (ns: TestNamespace, keys: readonly string[]): Promise<Record<string, string[][]>> => {
  const rows: [string, string[]][] = []
  for (const key of keys) rows.push(...(await ns.redis.xrange(key, "-", "+")))
  // Entry IDs are Redis time: sorting across the partitions' streams keeps each symbol's order.
  const ms = (id: string) => id.split("-").map(Number) as [number, number]
  rows.sort(([a], [b]) => ms(a)[0] - ms(b)[0] || ms(a)[1] - ms(b)[1])
  const out: Record<string, string[][]> = {}
  for (const [, fields] of rows) (out[fieldRecord(fields)["symbol"] ?? "?"] ??= []).push(fields)
  return out
}

export const symbolOutcome = async (ns: TestNamespace, count: number) => {
  const snapshots: Record<string, string> = {}
  const home: Record<string, number> = {}
  const all = Array.from({ length: count }, (_, p) => partitionKeys(ns.prefix, p, count))
  for (const keys of all) {
    for (const [symbol, json] of Object.entries(await ns.redis.hgetall(keys.snapshots))) {
      if (symbol in snapshots) throw new Error(`${symbol} has a snapshot in two partitions`)
      snapshots[symbol] = json
      home[symbol] = keys.partition
    }
  }
  const dead = [...new Set((await ns.redis.xrange(ingressKeys(ns.prefix).scoresDead, "-", "+")).map(([, f]) => parseDeadLetter(f)?.sourceId))].sort()
  return {
    snapshots, home,
    lifecycle: await bySymbol(ns, all.map((k) => k.lifecycle)),
    backfill: await bySymbol(ns, all.map((k) => k.backfill)),
    dead,
    companies: await ns.sql`SELECT symbol, layer FROM companies ORDER BY symbol`
  }
}

/** An install of one partition has applied and projected everything on its streams. */
export const oneSettled = async (ns: TestNamespace): Promise<boolean> =>
  (await groupDone(ns.redis, ingressKeys(ns.prefix).scores, "strata-engine")) &&
  ((await ns.redis.exists(partitionKeys(ns.prefix, 0).lifecycle)) === 0 || (await groupDone(ns.redis, partitionKeys(ns.prefix, 0).lifecycle, "strata-projector")))
