/**
 * Direct writes on a real 3-master Redis Cluster (started for this file): an engine
 * process over 6 partitions reads each partition's router-filled and direct streams with
 * one XREADGROUP and commits with one atomic step, keys of one slot each time. Half the
 * symbols written straight into their direct streams, half through ingress, end with the
 * snapshots one engine gives on standalone Redis over everything through ingress, and no
 * command is refused for its slots.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { stringify } from "yaml"
import { workloadArray } from "../../fixtures/workload.ts"
import { createLogger } from "../../src/services/logger.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { scoresSymbol } from "../../streams/scores-wire.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { installSettled, splitByPath, startPartitioned } from "../helpers/partitioned.ts"
import { useRedisCluster } from "../helpers/redis-cluster.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const COUNT = 6
const OVERRIDES = {
  partitions: COUNT, backfill: { enabled: false }, archive: { enabled: false },
  ingest: { block_ms: 200 }, lease: { ttl_ms: 4_000, join_debounce_ms: 500 }
}

const fixture = useRedisCluster({ masters: 3 })

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

const snapshots = async (redis: Redis, prefix: string) => {
  const out: Record<string, string> = {}
  for (let p = 0; p < COUNT; p++) Object.assign(out, await redis.hgetall(partitionKeys(prefix, p, COUNT).snapshots))
  return out
}

describe("direct writes on a Redis Cluster", () => {
  let ref: TestNamespace
  let cl: TestNamespace
  const input = workloadArray({ events: 3_000, symbols: 90, seed: 20261212, start: Date.UTC(2026, 0, 7, 15), stepMs: 1_000, lateShare: 0.02, badShare: 0.01 })

  beforeAll(async () => {
    ref = await testNamespace(OVERRIDES)
    cl = await testNamespace(OVERRIDES)
  }, 60_000)
  afterAll(async () => {
    await ref?.cleanup()
    await cl?.cleanup()
  })

  it("half direct, half through ingress, ends where everything through ingress ends on standalone Redis", async () => {
    const reference = await startPartitioned(ref, createLogger("test-ref", process.env["LOG_LEVEL"] ?? "silent"))
    await waitUntil("the reference engine holds every partition", () => reference.handles.runner.held().length === COUNT, 60_000)
    await xaddAll(ref.redis, ingressKeys(ref.prefix).scores, input)
    await waitUntil("the reference run settled", () => installSettled(ref, COUNT), 180_000)
    await reference.stop()
    const expected = await snapshots(ref.redis, ref.prefix)

    const cluster = fixture.connect() as unknown as Redis
    const dir = mkdtempSync(join(tmpdir(), "strata-dcluster-"))
    writeFileSync(join(dir, "partitioned.yaml"), stringify(OVERRIDES))
    const seeds = fixture.nodes().map((n) => `${n.host}:${n.port}`).join(",")
    const env = { ...cl.env, REDIS_URL: `redis+cluster://${seeds}`, STRATA_CONFIG: join(dir, "partitioned.yaml"), NODE_NO_WARNINGS: "1" }
    const log: string[] = []
    const engine = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "engine"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] })
    engine.stderr?.on("data", (d: Buffer) => log.push(d.toString()))
    try {
      await waitUntil("the engine holds every partition", async () => {
        for (let p = 0; p < COUNT; p++) if ((await cluster.hget(partitionKeys(cl.prefix, p, COUNT).lease, "owner")) === null) return false
        return true
      }, 120_000)
      const symbols = [...new Set(input.map((e) => scoresSymbol(e.fields)).filter((s): s is string => s !== undefined))]
      const direct = new Set(symbols.filter((_, i) => i % 2 === 1))
      const { viaIngress, viaDirect } = splitByPath(cl.prefix, COUNT, input, (s) => direct.has(s))
      expect(viaDirect.size).toBe(COUNT)
      await xaddAll(cluster, ingressKeys(cl.prefix).scores, viaIngress)
      for (const [key, entries] of viaDirect) await xaddAll(cluster, key, entries)
      await waitUntil("the install on the Cluster settled", () => installSettled({ ...cl, redis: cluster }, COUNT), 300_000)
      expect(await snapshots(cluster, cl.prefix)).toEqual(expected)
      for (const key of viaDirect.keys()) expect((await cluster.xpending(key, GROUPS.engine))[0]).toBe(0)
    } finally {
      engine.kill("SIGTERM")
      await exited(engine)
    }
    expect(log.join("")).not.toMatch(/CROSSSLOT/)
  }, 700_000)
})
