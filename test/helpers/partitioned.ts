/**
 * Waiting on a partitioned install: a consumer group done with its stream, and a whole
 * install settled (routed, applied and projected in every partition); and one of its
 * engines started in this process, in a scope of its own.
 */
import { Effect, Exit, Scope } from "effect"
import type { Redis } from "ioredis"
import { startPartitionedEngine } from "../../src/app/engine-process.ts"
import type { PartitionedHandles } from "../../src/app/partitioned-engine.ts"
import type { Logger } from "../../src/services/logger.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { scoresSymbol } from "../../streams/scores-wire.ts"
import type { TestNamespace } from "./namespace.ts"

/** The group exists on the stream and has nothing pending and nothing unread. */
export const groupDone = async (redis: Redis, stream: string, group: string): Promise<boolean> => {
  const groups = (await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][]
  const g = groups.map((x) => Object.fromEntries(Array.from({ length: x.length / 2 }, (_, i) => [String(x[2 * i]), x[2 * i + 1]])))
    .find((x) => x["name"] === group)
  return g !== undefined && Number(g["pending"]) === 0 && g["lag"] !== null && Number(g["lag"]) === 0
}

/** Routed, applied and projected: nothing pending or unread in any group of the install's `count` partitions (direct streams too). */
export const installSettled = async (ns: TestNamespace, count: number): Promise<boolean> => {
  if (!(await groupDone(ns.redis, ingressKeys(ns.prefix).scores, GROUPS.router))) return false
  for (let p = 0; p < count; p++) {
    const keys = partitionKeys(ns.prefix, p, count)
    if ((await ns.redis.exists(keys.scores)) === 1 && !(await groupDone(ns.redis, keys.scores, GROUPS.engine))) return false
    if ((await ns.redis.exists(keys.scoresDirect)) === 1 && !(await groupDone(ns.redis, keys.scoresDirect, GROUPS.engine))) return false
    if ((await ns.redis.exists(keys.lifecycle)) === 1 && !(await groupDone(ns.redis, keys.lifecycle, GROUPS.projector))) return false
  }
  return true
}

export interface RunningPartitioned {
  readonly handles: PartitionedHandles
  readonly stop: () => Promise<void>
}

/** Start one engine of the namespace's partitioned install; `stop` closes its scope (a graceful shutdown). */
export const startPartitioned = async (ns: TestNamespace, log: Logger): Promise<RunningPartitioned> => {
  const scope = Effect.runSync(Scope.make())
  const handles = await Effect.runPromise(Scope.provide(scope)(startPartitionedEngine(ns.config, log)))
  return { handles, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/**
 * A producer's two paths into a partitioned install: the entries of symbols `direct` picks
 * go to their partition's direct stream (keyed by stream), the rest, entries without a
 * valid symbol included, to the ingress stream.
 */
export const splitByPath = (prefix: string, count: number, entries: readonly StreamEntry[], direct: (symbol: string) => boolean) => {
  const viaIngress: StreamEntry[] = []
  const viaDirect = new Map<string, StreamEntry[]>()
  for (const e of entries) {
    const s = scoresSymbol(e.fields)
    if (s === undefined || !direct(s)) viaIngress.push(e)
    else {
      const key = partitionKeys(prefix, symbolPartition(s, count), count).scoresDirect
      viaDirect.set(key, [...(viaDirect.get(key) ?? []), e])
    }
  }
  return { viaIngress, viaDirect }
}
