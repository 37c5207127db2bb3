/**
 * Memory probe, run as a child process with --expose-gc so that nothing else shares its
 * heap: applies one event per symbol for N symbols, then reports heap and RSS growth.
 *   memory-probe.ts engine <N> <snapshotCache>   the real ingest over a pre-filled stream
 *                                                 (env REDIS_URL, STRATA_PREFIX, …)
 *   memory-probe.ts bare <N>                      one started XState actor per symbol
 * Prints one JSON line: { heapBytes, rssBytes, cached, rssTotal } (growth, and the process's
 * whole RSS at the end).
 */
import { createActor } from "xstate"
import { loadConfig } from "../../config/load.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { createLifecycleMachine } from "../../machines/lifecycle.ts"
import { Ingest } from "../../src/engine/ingest.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { PartitionLease } from "../../streams/lease.ts"
import { createLogger } from "../../src/services/logger.ts"
import { openRedis } from "../../src/services/redis.ts"
import { benchSymbol } from "../../fixtures/workload.ts"
import { settle } from "./gc-settle.ts"

const [mode, nText, cacheText] = process.argv.slice(2)
const n = Number(nText)
const config = loadConfig({ overrides: cacheText ? { ingest: { snapshot_cache: Number(cacheText) } } : {} })
const keep: unknown[] = []

let cached = 0
if (mode === "bare") {
  const machine = createLifecycleMachine(rulesFromConfig(config.lifecycle))
  await settle()
  const before = process.memoryUsage()
  const actors = new Map<string, unknown>()
  for (let i = 0; i < n; i++) {
    const a = createActor(machine).start()
    a.send({ type: "score", at: 1_767_600_000_000 + i, cause: `${i}-0`, scores: { liquidity: 0.7, catalyst: 0.4 } })
    actors.set(benchSymbol(i), a)
  }
  keep.push(actors)
  cached = actors.size
  await settle()
  const after = process.memoryUsage()
  process.stdout.write(`${JSON.stringify({ heapBytes: after.heapUsed - before.heapUsed, rssBytes: after.rss - before.rss, cached, rssTotal: after.rss })}\n`)
} else {
  const reads = openRedis(config.redis.url, "probe-reads")
  const writes = openRedis(config.redis.url, "probe-writes")
  const lease = new PartitionLease(writes, partitionKeys(config.redis.prefix, 0), config.lease.ttl_ms)
  if (!(await lease.acquire()).held) throw new Error("the probe's partition lease is held by another process")
  const renewal = setInterval(() => void lease.renew().catch((e: Error) => process.stderr.write(`lease renewal failed: ${e.message}\n`)), config.lease.ttl_ms / 3)
  const ingest = new Ingest(reads, writes, config, createLogger("probe", "silent"), lease)
  await ingest.init()
  await ingest.runOnce()
  await settle()
  const before = process.memoryUsage()
  while (ingest.stats.entries + 1 < n) await ingest.runOnce()
  cached = ingest.store.size
  await settle()
  const after = process.memoryUsage()
  keep.push(ingest)
  process.stdout.write(`${JSON.stringify({ heapBytes: after.heapUsed - before.heapUsed, rssBytes: after.rss - before.rss, cached, rssTotal: after.rss })}\n`)
  clearInterval(renewal)
  await lease.release()
  reads.disconnect()
  writes.disconnect()
}
