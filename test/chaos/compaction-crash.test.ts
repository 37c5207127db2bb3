/**
 * Crash test for compaction and migration: `strata compact --full` and `strata lake
 * migrate` run as real processes and are killed with SIGKILL at seeded random instants
 * (while periods are being merged, the manifest's object count falling past a random mark,
 * and at random delays), then rerun to completion. Every row must be readable exactly
 * once at the end, one object per period, and the manifest must name exactly the objects
 * in the store (`lake verify` clean).
 */
import { spawn, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { afterAll, beforeAll, expect, it } from "vitest"
import { writeLegacyCold } from "../../bench/lib/legacy-lake.ts"
import { STORAGE_DDL, localObjectStore, readCold, writeCold, type Lake } from "../../src/storage/index.ts"
import { verifyLake } from "../../src/storage/lake.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const ALL = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as const
const KILLS = 6

/** Seeded draws in [0, 1): the same kill instants on every run. */
const random = (seed: number) => {
  const draws = fc.sample(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { seed, numRuns: 1_000 })
  let i = 0
  return () => draws[i++ % draws.length] as number
}

let ns: TestNamespace
let lake: Lake
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  lake = { sql: ns.sql, store: localObjectStore(ns.config.storage.lake) }
  env = { ...ns.env, LOG_LEVEL: "silent" }
})

afterAll(async () => {
  await ns?.cleanup()
})

const objectCount = async () => (await allObjects(ns.sql, lake.store.location)).length

it(`leaves every row exactly once after ${KILLS} kill -9 during compaction and migration and a rerun`, async () => {
  const rnd = random(20261201)
  // Parts: four months of 1-minute bars written a day at a time (121 parts, 4 periods).
  const minute = sampleBars("AAPL", "1min", Date.UTC(2024, 0, 1), 121 * 1440)
  for (let i = 0; i < minute.length; i += 1440) await writeCold(lake, "bars", minute.slice(i, i + 1440))
  // The earlier per-day layout: two months of 5-minute bars of another symbol.
  const legacy = sampleBars("MSFT", "5min", Date.UTC(2024, 0, 1), 60 * 288)
  await writeLegacyCold(lake.store, "bars", legacy)

  let kills = 0
  let midWork = 0
  for (let attempt = 0; kills < KILLS && attempt < KILLS * 6; attempt++) {
    const args = ["--import", "tsx", "src/cli/main.ts", ...(attempt % 3 === 2 ? ["lake", "migrate"] : ["compact", "--full"]), "--json"]
    const before = await objectCount()
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: "ignore" })
    let done = false
    const exited = new Promise<void>((resolve) => child.once("exit", () => { done = true; resolve() }))
    if (attempt % 2 === 0) {
      // Kill once the manifest has lost a random number of objects (some periods merged).
      const mark = before - 1 - Math.floor(rnd() * 40)
      while (!done && (await objectCount()) > mark) await new Promise((r) => setTimeout(r, 5))
      await new Promise((r) => setTimeout(r, rnd() * 40))
    } else {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 200 + rnd() * 1500))])
    }
    if (!done) {
      child.kill("SIGKILL")
      kills++
      await exited
      if ((await objectCount()) < before) midWork++
    }
  }
  expect(kills).toBeGreaterThanOrEqual(KILLS)
  expect(midWork).toBeGreaterThanOrEqual(2)

  for (const args of [["lake", "migrate"], ["compact", "--full"]]) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args, "--json"], { cwd: ROOT, env, encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
  }
  expect(await readCold(lake, "bars", "AAPL", "1min", ...ALL)).toEqual(minute)
  expect(await readCold(lake, "bars", "MSFT", "5min", ...ALL)).toEqual(legacy)
  const objects = await allObjects(ns.sql, lake.store.location)
  expect(objects.map((o) => `${o.symbol}|${o.periodFrom}`)).toEqual([...new Set(objects.map((o) => `${o.symbol}|${o.periodFrom}`))])
  expect(objects.filter((o) => o.symbol === "AAPL")).toHaveLength(4)
  expect(objects.some((o) => o.key.endsWith("/data.parquet"))).toBe(false)
  expect(objects.map((o) => o.key)).toEqual(await lake.store.list(""))
  expect(await verifyLake(lake, { deep: true })).toMatchObject({ missing: [], damaged: [], pending: [], unnamed: [] })
  console.info(`compaction crash test: ${kills} kills, ${midWork} while periods were merging`)
}, 300_000)
