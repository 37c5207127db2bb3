/**
 * The drain measurement of the engine benches: a `strata engine` child started on a
 * namespace whose scores stream already holds `events` entries, timed from its first
 * applied entry to its last (the stats hash's `entries`), then stopped. Does not fill the
 * stream or clean the namespace: the scenario does.
 */
import { join } from "node:path"
import { partitionKeys } from "../../streams/keys.ts"
import type { BenchContext } from "../scenario.ts"
import type { BenchNamespace } from "./bench-namespace.ts"
import { ROOT, startChild } from "./children.ts"
import { drainRateOf, timeProgress } from "./fill.ts"

/** Events/s; `logName` names the child's log in the scratch folder; `nodeArgs` go to node itself. */
export const engineDrainRate = async (
  ctx: BenchContext, ns: BenchNamespace, events: number, logName: string, nodeArgs: readonly string[] = []
): Promise<number> => {
  const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(ctx.tmpDir, logName), nodeArgs)
  try {
    const stats = partitionKeys(ns.prefix, 0).stats
    const t = await timeProgress(async () => Number(await ns.redis.hget(stats, "entries") ?? 0), events, 600_000)
    return drainRateOf(events, t)
  } finally {
    await child.stop()
  }
}
