/**
 * End to end with a real engine, Redis and PostgreSQL: scores that qualify a symbol for L2
 * → the engine's backfill command → worker fibers → the hot tables hold exactly the hot
 * window's rows and the Parquet objects exactly the cold part, for every data type and
 * interval the policy names; the same run with s3rver as the object store gives the same
 * objects, byte for byte in content.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { DATA_TYPES } from "../../config/schema.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import { openObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { expectedRows, finishedCommands, SMALL_CHUNKS, SMALL_RETENTION, storedRows, waitForFinished } from "../helpers/backfill-fixture.ts"
import { runEngine, type RunningEngine } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from "../helpers/s3.ts"

const T0 = Date.UTC(2026, 0, 7, 15, 0) // a Wednesday
const MIN = 60_000

describe("backfill end to end", () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** Qualify AAPL for L2 through the engine and wait for its backfill; return the store. */
  const qualifyAndBackfill = async (storage: Record<string, unknown>): Promise<{ ns: TestNamespace; store: ObjectStore }> => {
    const ns = await testNamespace({
      retention: SMALL_RETENTION,
      storage,
      backfill: { workers: 2, chunk_days: SMALL_CHUNKS, block_ms: 200 }
    })
    cleanups.push(() => ns.cleanup())
    const engine: RunningEngine = await runEngine(ns.config)
    cleanups.push(() => engine.stop())
    const scores = ingressKeys(ns.prefix).scores
    await ns.redis.xadd(scores, "*", "symbol", "AAPL", "liquidity", "0.9", "catalyst", "0.9", "ts", String(T0))
    await ns.redis.xadd(scores, "*", "symbol", "AAPL", "liquidity", "0.9", "catalyst", "0.9", "ts", String(T0 + MIN))
    await waitForFinished(ns.sql, 1)
    const store = openObjectStore(ns.config.storage)
    cleanups.push(() => store.close())
    return { ns, store }
  }

  const checkExact = async (ns: TestNamespace, store: ObjectStore) => {
    const keys = partitionKeys(ns.prefix, 0)
    const [command] = await ns.redis.xrange(keys.backfill, "-", "+")
    expect(command?.[1]).toContain("2")
    expect(await finishedCommands(ns.sql)).toEqual([{ command_id: `bf-${(await ns.redis.xrange(ingressKeys(ns.prefix).scores, "-", "+"))[1]?.[0]}`, status: "done" }])
    const expected = expectedRows(ns.config.retention, 2, [...DATA_TYPES], T0 + MIN, "AAPL", ns.config.providers.synthetic.seed)
    // Every kind and interval the small policy names, each with rows in both tiers.
    expect(expected.map((s) => `${s.kind}|${s.interval}`).sort()).toEqual(
      ["bars|1day", "bars|1hour", "bars|1min", "bars|5min", "corporate_actions|", "news|", "social_sentiment|"]
    )
    for (const series of expected) {
      const stored = await storedRows(ns.sql, store, series.kind, "AAPL", series.interval)
      expect(stored.hot, `hot ${series.kind} ${series.interval}`).toEqual(series.hot)
      expect(stored.cold, `cold ${series.kind} ${series.interval}`).toEqual(series.cold)
      if (series.kind !== "corporate_actions") {
        expect(series.hot.length, `${series.kind} ${series.interval} hot`).toBeGreaterThan(0)
        expect(series.cold.length, `${series.kind} ${series.interval} cold`).toBeGreaterThan(0)
      }
    }
    // Nothing left pending.
    const pending = (await ns.redis.xpending(keys.backfill, GROUPS.workers)) as unknown[]
    expect(pending[0]).toBe(0)
    expect(await ns.redis.xlen(keys.backfillDead)).toBe(0)
  }

  it("stores exactly the hot window hot and the cold part as Parquet, in a local lake and in s3rver alike", async () => {
    const lake = mkdtempSync(join(tmpdir(), "strata-lake-"))
    cleanups.push(async () => rmSync(lake, { recursive: true, force: true }))
    const local = await qualifyAndBackfill({ lake })
    await checkExact(local.ns, local.store)

    const s3: TestS3 = await startS3()
    cleanups.push(() => s3.stop())
    const saved = { id: process.env["AWS_ACCESS_KEY_ID"], secret: process.env["AWS_SECRET_ACCESS_KEY"] }
    process.env["AWS_ACCESS_KEY_ID"] = S3RVER_CREDENTIALS.accessKeyId
    process.env["AWS_SECRET_ACCESS_KEY"] = S3RVER_CREDENTIALS.secretAccessKey
    cleanups.push(async () => {
      if (saved.id === undefined) delete process.env["AWS_ACCESS_KEY_ID"]
      else process.env["AWS_ACCESS_KEY_ID"] = saved.id
      if (saved.secret === undefined) delete process.env["AWS_SECRET_ACCESS_KEY"]
      else process.env["AWS_SECRET_ACCESS_KEY"] = saved.secret
    })
    const remote = await qualifyAndBackfill({
      lake, s3: { bucket: s3.bucket, prefix: "e2e/", endpoint: s3.endpoint, region: "us-east-1", force_path_style: true }
    })
    await checkExact(remote.ns, remote.store)

    // Same objects in both lakes: the same parts per series and period (part ids are random),
    // each listed in its lake's manifest.
    const shape = (keys: string[]) => keys.map((k) => k.replace(/part-[0-9a-f]+/, "part")).sort()
    // The scanner archive (scores/) shares the lake; its parts are not cold-tier objects.
    const tierKeys = async (store: typeof local.store) => (await store.list("")).filter((k) => !k.startsWith("scores/"))
    const localKeys = await tierKeys(local.store)
    const remoteKeys = await tierKeys(remote.store)
    expect(localKeys.length).toBeGreaterThan(5)
    expect(shape(remoteKeys)).toEqual(shape(localKeys))
    expect((await allObjects(local.ns.sql, local.store.location)).map((o) => o.key)).toEqual(localKeys)
    expect((await allObjects(remote.ns.sql, remote.store.location)).map((o) => o.key)).toEqual(remoteKeys)
  })
})
