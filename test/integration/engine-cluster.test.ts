/**
 * A partitioned install on a real 3-master Redis Cluster (started for this file), chosen
 * by REDIS_URL=redis+cluster://…: two engine processes share its 6 partitions (each
 * partition held by one of them), scores XADDed to the ingress stream are routed,
 * applied and projected, and the snapshots, streams, stats and companies rows equal
 * those of one engine alone over the same input on standalone Redis. The demotion feed
 * and the snapshot reads, which span partitions and so slots, answer on the Cluster.
 * Seeds that refuse the credentials, or do not answer, stop the engine with one line
 * naming the setting, no stack trace and no password.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Scope } from "effect"
import type { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { stringify } from "yaml"
import { loadConfig } from "../../config/load.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { startPartitionedEngine } from "../../src/app/engine-process.ts"
import { demotionFeed, lifecycleStreams } from "../../src/engine/tiering.ts"
import { createLogger } from "../../src/services/logger.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { lifecycleFields } from "../../streams/lifecycle-wire.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { readSnapshots } from "../../streams/snapshots-read.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { installSettled } from "../helpers/partitioned.ts"
import { useRedisCluster } from "../helpers/redis-cluster.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const COUNT = 6
const OVERRIDES = {
  partitions: COUNT, backfill: { enabled: false }, archive: { enabled: false },
  ingest: { block_ms: 200 }, lease: { ttl_ms: 4_000, join_debounce_ms: 500 }
}
const SECRET = "cluster-Secret-4711"

const fixture = useRedisCluster({ masters: 3 })
const seeds = () => fixture.nodes().map((n) => `${n.host}:${n.port}`).join(",")

interface Run { readonly code: number | null; readonly stderr: string }

const engineProcess = (env: NodeJS.ProcessEnv, log: string[]): ChildProcess => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "engine"], { cwd: ROOT, env: { ...env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "ignore", "pipe"] })
  child.stderr?.on("data", (d: Buffer) => log.push(d.toString()))
  return child
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code))))

const runEngine = async (env: NodeJS.ProcessEnv): Promise<Run> => {
  const log: string[] = []
  const code = await exited(engineProcess(env, log))
  return { code, stderr: log.join("") }
}

const fieldsOnly = async (redis: Redis, key: string) => (await redis.xrange(key, "-", "+")).map(([, f]) => f)

/** What the install wrote, read through `redis` (standalone or Cluster). */
const outcome = async (redis: Redis, ns: TestNamespace) => {
  const out: Record<string, unknown> = {}
  for (let p = 0; p < COUNT; p++) {
    const keys = partitionKeys(ns.prefix, p, COUNT)
    out[`${p}:snapshots`] = await redis.hgetall(keys.snapshots)
    out[`${p}:scores`] = await redis.xrange(keys.scores, "-", "+")
    out[`${p}:lifecycle`] = await fieldsOnly(redis, keys.lifecycle)
    out[`${p}:backfill`] = await fieldsOnly(redis, keys.backfill)
    out[`${p}:stream-time`] = await redis.get(keys.streamTime)
    const stats = await redis.hgetall(keys.stats)
    out[`${p}:stats`] = Object.fromEntries(["entries", "applied", "late", "dead", "transitions", "commands"].map((f) => [f, stats[f]]))
  }
  out["ingress:dead"] = [...new Set((await fieldsOnly(redis, ingressKeys(ns.prefix).scoresDead)).map((f) => parseDeadLetter(f)?.sourceId))].sort()
  out["companies"] = await ns.sql`SELECT symbol, layer FROM companies ORDER BY symbol`
  return out
}

/** The owner of each partition's lease (null: nobody holds it). */
const owners = async (redis: Redis, prefix: string) =>
  Promise.all(Array.from({ length: COUNT }, (_, p) => redis.hget(partitionKeys(prefix, p, COUNT).lease, "owner")))

describe("a partitioned install on a Redis Cluster", () => {
  let ref: TestNamespace
  let cl: TestNamespace
  let cluster: Redis
  let env: NodeJS.ProcessEnv
  const input = workloadArray({ events: 4_000, symbols: 120, seed: 20261205, start: Date.UTC(2026, 0, 7, 15), stepMs: 1_000, lateShare: 0.02, badShare: 0.01 })

  beforeAll(async () => {
    ref = await testNamespace(OVERRIDES)
    cl = await testNamespace(OVERRIDES)
    // A Cluster client stands in for the namespace's connection: only one-slot commands are sent.
    cluster = fixture.connect() as unknown as Redis
    const dir = mkdtempSync(join(tmpdir(), "strata-cluster-"))
    writeFileSync(join(dir, "partitioned.yaml"), stringify(OVERRIDES))
    env = { ...cl.env, REDIS_URL: `redis+cluster://${seeds()}`, STRATA_CONFIG: join(dir, "partitioned.yaml") }
  }, 60_000)
  afterAll(async () => {
    await ref?.cleanup()
    await cl?.cleanup()
  })

  it("runs two engine processes over 6 partitions and ends where one engine alone ends on standalone Redis", async () => {
    // One in-process engine alone on standalone Redis: the outcome to match.
    const scope = Effect.runSync(Scope.make())
    const handles = await Effect.runPromise(Scope.provide(scope)(startPartitionedEngine(ref.config, createLogger("test-ref", process.env["LOG_LEVEL"] ?? "silent"))))
    await waitUntil("the reference engine holds every partition", () => handles.runner.held().length === COUNT, 60_000)
    await xaddAll(ref.redis, ingressKeys(ref.prefix).scores, input)
    await waitUntil("the reference run settled", () => installSettled(ref, COUNT), 180_000)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    const expected = await outcome(ref.redis, ref)

    const logs: string[][] = [[], []]
    const engines = logs.map((log) => engineProcess(env, log))
    const onCluster = { ...cl, redis: cluster }
    try {
      await waitUntil("both engines hold partitions, each partition one of them", async () => {
        const held = await owners(cluster, cl.prefix)
        const pids = new Set(held.map((o) => o?.split(":")[1]))
        return held.every((o) => o !== null) && engines.every((e) => pids.has(String(e.pid))) && pids.size === 2
      }, 120_000)
      await xaddAll(cluster, ingressKeys(cl.prefix).scores, input)
      await waitUntil("the install on the Cluster settled", () => installSettled(onCluster, COUNT), 300_000)
      expect(await outcome(cluster, cl)).toEqual(expected)
      // The partitions' keys really are spread over the three masters.
      const ports = new Set<number>()
      const map = await fixture.slotMap()
      for (let p = 0; p < COUNT; p++) {
        const slot = (await cluster.call("CLUSTER", "KEYSLOT", partitionKeys(cl.prefix, p, COUNT).scores)) as number
        ports.add(map.find(([a, b]) => slot >= a && slot <= b)?.[2] ?? 0)
      }
      expect(ports.size).toBe(3)
    } finally {
      for (const e of engines) e.kill("SIGTERM")
      await Promise.all(engines.map(exited))
      if (process.env["CLUSTER_TEST_LOG"]) writeFileSync(process.env["CLUSTER_TEST_LOG"], logs.map((l) => l.join("")).join("\n=====\n"))
    }
    // Every refused command is logged as a warning at least: none was refused for its
    // slots, and the demotion feed (one read over every partition's stream) never failed.
    const text = logs.flat().join("")
    expect(text).not.toMatch(/CROSSSLOT/)
    expect(text).not.toMatch(/demotion feed failed/)
  }, 700_000)

  it("reads demotions from every partition's lifecycle stream, and snapshots of any partitions", async () => {
    const prefix = `${cl.prefix}x`
    const config = loadConfig({ env: {}, overrides: { partitions: COUNT, redis: { prefix, url: `redis+cluster://${seeds()}` } } })
    const feedRedis = fixture.connect() as unknown as Redis
    const feed = demotionFeed(feedRedis, lifecycleStreams(config), 100)
    expect(await feed()).toEqual([])
    // One symbol demoted in every partition.
    const symbols = Array.from({ length: COUNT }, (_, p) => {
      for (let i = 0; ; i++) if (symbolPartition(`D${i}`, COUNT) === p && i >= p) return `D${i}`
    })
    for (const s of symbols) {
      await cluster.xadd(partitionKeys(prefix, symbolPartition(s, COUNT), COUNT).lifecycle, "*", ...lifecycleFields({ symbol: s, from: 2, to: 1, at: Date.UTC(2026, 0, 7), cause: "1-0", scores: {} }, []))
    }
    const seen = new Set<string>()
    await waitUntil("the feed saw a demotion in every partition", async () => {
      for (const s of await feed()) seen.add(s)
      return seen.size === COUNT
    }, 30_000)
    expect([...seen].sort()).toEqual([...symbols].sort())

    for (const s of symbols) await cluster.hset(partitionKeys(prefix, symbolPartition(s, COUNT), COUNT).snapshots, s, JSON.stringify({ layer: 1, s }))
    const got = await readSnapshots(cluster, { prefix, partitions: COUNT }, [...symbols, "NONE"])
    expect(got).toEqual([...symbols.map((s) => JSON.stringify({ layer: 1, s })), null])
  }, 60_000)

  it("stops with one line naming the setting when the seeds do not answer or refuse the credentials", async () => {
    const unreachable = await runEngine({ ...env, REDIS_URL: "redis+cluster://127.0.0.1:1,127.0.0.1:2" })
    expect(unreachable.stderr).toMatch(/Redis at redis\+cluster:\/\/127\.0\.0\.1:1,127\.0\.0\.1:2 does not answer .*set REDIS_URL or redis\.url/)
    expect(unreachable.stderr).not.toMatch(/\n\s+at /)
    expect(unreachable.code).toBe(3)

    const nodes = fixture.nodes()
    for (const n of nodes) spawnSync("redis-cli", ["-p", String(n.port), "config", "set", "requirepass", SECRET])
    try {
      const wrong = await runEngine({ ...env, REDIS_URL: `redis+cluster://:wrong-${SECRET}@${seeds()}` })
      expect(wrong.stderr).toMatch(/Redis at redis\+cluster:\/\/:\*\*\*@127\.0\.0\.1:\d+.* refused the credentials \(WRONGPASS\): fix the user or password in REDIS_URL or redis\.url/)
      const none = await runEngine({ ...env, REDIS_URL: `redis+cluster://${seeds()}` })
      expect(none.stderr).toMatch(/requires a password \(NOAUTH\): give it in REDIS_URL or redis\.url \(redis\+cluster:\/\/:PASSWORD@host:port,host:port\)/)
      for (const r of [wrong, none]) {
        expect(r.stderr).not.toContain(SECRET)
        expect(r.stderr).not.toMatch(/\n\s+at /)
        expect(r.code).toBe(3)
      }
    } finally {
      for (const n of nodes) spawnSync("redis-cli", ["-p", String(n.port), "-a", SECRET, "--no-auth-warning", "config", "set", "requirepass", ""])
    }
  }, 120_000)
})
