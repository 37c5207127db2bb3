/**
 * Redis going away under a running engine: the engine's loops retry on their schedule,
 * reconnect when Redis is back (same port, same AOF data), and every scores entry is
 * applied exactly once — including a batch whose script may have run while its reply was
 * lost (the atomic step refuses to apply it twice).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { chmodSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { openRedis } from "../../src/services/redis.ts"
import { startRedis, type PrivateServer } from "../../src/services/private-servers.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { runEngine, streamFields, waitUntil } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const EVENTS = 12_000
const OUTAGES = 4

describe("Redis outage", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-outage-"))
  chmodSync(dir, 0o755)
  let redis: PrivateServer | undefined
  let ns: TestNamespace | undefined
  afterAll(async () => {
    await redis?.stop()
    await ns?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`keeps the engine running through ${OUTAGES} Redis restarts, applying every entry once`, async () => {
    redis = await startRedis(join(dir, "redis"))
    ns = await testNamespace(ENGINE_ONLY)
    const port = redis.port
    const config = loadConfig({ env: {}, overrides: { ...ENGINE_ONLY, http: { port: 0 }, data_dir: dir, redis: { url: redis.url, prefix: "outage" }, postgres: { url: ns.databaseUrl, schema: ns.schema } } })
    const entries = workloadArray({ events: EVENTS, symbols: 300, seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, lateShare: 0.01, badShare: 0.01 })
    const engine = await runEngine(config)
    const producer = openRedis(redis.url, "outage-producer")
    producer.on("error", () => {})
    const keys = partitionKeys("outage", 0)
    const scores = ingressKeys("outage").scores
    const progress = async () => Number((await producer.hget(keys.stats, "entries")) ?? 0)

    // Several outages, each while the engine is busy with a fresh segment: Redis is stopped
    // and brought back on the same port with the same data (AOF).
    const segment = Math.ceil(EVENTS / (OUTAGES + 1))
    for (let i = 0; i < OUTAGES; i++) {
      const before = await progress()
      await xaddAll(producer, scores, entries.slice(i * segment, (i + 1) * segment))
      await waitUntil("some progress", async () => (await progress()) > before)
      const atStop = await progress()
      await redis.stop()
      // Reported, not asserted: how much was still to do when Redis went away.
      console.info(`redis outage ${i + 1}: ${atStop} of ${(i + 1) * segment} entries applied when Redis stopped`)
      redis = await startRedis(join(dir, "redis"), { port })
    }
    await xaddAll(producer, scores, entries.slice(OUTAGES * segment))
    await waitUntil("every entry applied", async () => (await progress()) >= EVENTS, 120_000)
    await waitUntil("the projector caught up", async () => {
      const groups = (await producer.xinfo("GROUPS", keys.lifecycle)) as unknown[][]
      const g = groups.find((x) => x[1] === GROUPS.projector)
      return g !== undefined && g[g.indexOf("lag") + 1] === 0 && g[g.indexOf("pending") + 1] === 0
    }, 60_000)
    await engine.stop()

    // Exactly once: the counters bumped inside the atomic step equal the input.
    const stats = await producer.hgetall(keys.stats)
    expect(Number(stats["entries"])).toBe(EVENTS)
    expect(Number(stats["applied"]) + Number(stats["late"]) + Number(stats["dead"])).toBe(EVENTS)
    expect(((await producer.xpending(scores, GROUPS.engine)) as unknown[])[0]).toBe(0)
    // Same outputs as the pure core over the same entries.
    const lifecycle = await streamFields(producer, keys.lifecycle)
    expect(lifecycle.length).toBe(Number(stats["transitions"]))
    const companies = await ns.sql`SELECT count(*)::int AS n FROM companies`
    expect(companies[0]?.["n"]).toBeGreaterThan(0)
    await producer.quit()
  }, 180_000)
})
