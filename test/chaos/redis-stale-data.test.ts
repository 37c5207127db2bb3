/**
 * Redis that comes back with older data than the engine has applied (the tail of its AOF
 * lost, or a failover to a lagging replica): a private redis-server's AOF is copied while
 * the engine runs, the engine applies more, Redis is stopped, the older copy put back and
 * Redis restarted on the same port. The engine's next step finds the step marker behind
 * the one it expects, drops its actors and reads everything back from Redis, so every
 * symbol's from→to chain in the lifecycle stream agrees with its stored snapshot.
 */
import { chmodSync, cpSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { groupBacklog } from "../../streams/consumer.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { openRedis } from "../../src/services/redis.ts"
import { startRedis, type PrivateServer } from "../../src/services/private-servers.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { brokenChains } from "../helpers/lifecycle-chains.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

describe("Redis back with older data", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-stale-"))
  chmodSync(dir, 0o755)
  let redis: PrivateServer | undefined
  let ns: TestNamespace | undefined
  let engine: RunningEngine | undefined
  afterAll(async () => {
    await engine?.stop()
    await redis?.stop()
    await ns?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it("reloads its actors from Redis instead of writing outputs that contradict the stored snapshots", async () => {
    const data = join(dir, "redis")
    redis = await startRedis(data)
    ns = await testNamespace(ENGINE_ONLY)
    const port = redis.port
    // A lease longer than the test: the restored lease is still this engine's, so only the
    // step marker can tell that Redis went back in time.
    const config = loadConfig({ env: {}, overrides: { ...ENGINE_ONLY, lease: { ttl_ms: 600_000 }, http: { port: 0 }, data_dir: dir, redis: { url: redis.url, prefix: "stale" }, postgres: { url: ns.databaseUrl, schema: ns.schema } } })
    const entries = workloadArray({ events: 9_000, symbols: 150, seed: 5, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, lateShare: 0.01, badShare: 0.01 })
    const third = entries.length / 3
    engine = await runEngine(config)
    const producer = openRedis(redis.url, "stale-producer")
    producer.on("error", (e: Error) => console.info(`producer: ${e.message}`))
    const keys = partitionKeys("stale", 0)
    const scores = ingressKeys("stale").scores
    const caughtUp = async () => (await groupBacklog(producer, scores, GROUPS.engine)) === 0

    await xaddAll(producer, scores, entries.slice(0, third))
    await waitUntil("the first third applied", caughtUp, 60_000)
    const older = join(dir, "older-aof")
    cpSync(join(data, "appendonlydir"), older, { recursive: true })
    await xaddAll(producer, scores, entries.slice(third, 2 * third))
    await waitUntil("the second third applied", caughtUp, 60_000)
    const newer = Number(await producer.hget(keys.stats, "transitions"))

    await redis.stop()
    rmSync(join(data, "appendonlydir"), { recursive: true, force: true })
    cpSync(older, join(data, "appendonlydir"), { recursive: true })
    redis = await startRedis(data, { port })
    await waitUntil("Redis back with the older data", async () => Number(await producer.hget(keys.stats, "transitions")) < newer, 30_000)

    await xaddAll(producer, scores, entries.slice(2 * third))
    await waitUntil("the last third applied", async () =>
      (await caughtUp()) && Number(await producer.hget(keys.stats, "entries")) === 2 * third, 120_000)
    const broken = await brokenChains(producer, keys)
    console.info(`stale data: ${broken.length} broken chains, ${engine.handles.ingest.stats.reloads} reloads`)
    expect(broken).toEqual([])
    expect(engine.handles.ingest.stats.reloads).toBeGreaterThanOrEqual(1)
    await producer.quit()
  }, 300_000)
})
