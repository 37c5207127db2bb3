/**
 * Crash test for the warm-up (cold → hot move): a symbol holds the L1 layout (short hot
 * window, the rest cold) and is now L3, so `strata tier --now` must move the cold rows
 * inside L3's wider hot window back to PostgreSQL. The pass runs as a real process and is
 * killed with SIGKILL at seeded random instants — while rows are moving (once the hot row
 * count has risen past a seeded mark) and at seeded delays — then rerun to completion.
 * After every kill the read router still returns every row exactly once; at the end the
 * hot tier holds exactly the L3 hot window, the cold tier the rest, nothing in both.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, expect, it } from "vitest"
import { prng } from "../../fixtures/workload.ts"
import { partitionKeys } from "../../streams/keys.ts"
import type { Bar } from "../../src/domain/rows.ts"
import { naturalKey } from "../../src/domain/rows.ts"
import { DAY_MS, utcDay } from "../../src/domain/time.ts"
import { STORAGE_DDL, localObjectStore, readCold, readHot, writeRows, type ObjectStore } from "../../src/storage/index.ts"
import { bars } from "../../src/storage/read-router.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"
import { killRuns } from "../helpers/processes.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const AT = Date.UTC(2024, 5, 15, 12)
const END = utcDay(AT) + DAY_MS
const ALL = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as const
const KILLS = 6
const rand = prng(20240615)

let ns: TestNamespace
let store: ObjectStore
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  store = localObjectStore(ns.config.storage.lake)
  env = { ...ns.env, LOG_LEVEL: "silent" }
})

afterAll(async () => {
  await ns?.cleanup()
})

const tierArgs = ["--import", "tsx", "src/cli/main.ts", "tier", "--now", "--at", String(AT), "--json"]

const hotCount = async (): Promise<number> =>
  Number((await ns.sql`SELECT count(*)::int AS n FROM market_data WHERE symbol = 'AAPL'`)[0]?.["n"] ?? 0)

it(`moves every row hot exactly once after ${KILLS} kill -9 during the warm-up and a rerun`, async () => {
  // The L1 layout (1min hot 7 days; 1hour and 1day hot 30 days), written before the promotion.
  const series: { interval: "1min" | "1hour" | "1day"; rows: Bar[] }[] = [
    { interval: "1min", rows: sampleBars("AAPL", "1min", END - 18 * DAY_MS, 18 * 1440) },
    { interval: "1hour", rows: sampleBars("AAPL", "1hour", END - 120 * DAY_MS, 120 * 24) },
    { interval: "1day", rows: sampleBars("AAPL", "1day", END - 365 * DAY_MS, 365) }
  ]
  for (const s of series) await writeRows({ sql: ns.sql, store }, "bars", s.rows, END - (s.interval === "1min" ? 7 : 30) * DAY_MS)
  // Now L3: market_data is hot 90 days for every interval (defaults).
  await ns.redis.hset(partitionKeys(ns.prefix, 0).snapshots, "AAPL", JSON.stringify({ layer: 3 }))

  /** Whatever the instant, a read over both tiers returns every row once. */
  const readsOnce = async () => {
    for (const s of series) {
      const read = await bars({ sql: ns.sql, store }, "AAPL", s.interval, ...ALL)
      expect(read.length, `${s.interval}: rows read`).toBe(s.rows.length)
      expect(new Set(read.map(naturalKey.bars)).size, `${s.interval}: a key read twice`).toBe(read.length)
    }
  }

  const { kills, midway: midMove } = await killRuns({
    args: tierArgs, cwd: ROOT, env, kills: KILLS, rand, progress: hotCount, afterKill: readsOnce
  })
  expect(kills).toBeGreaterThanOrEqual(KILLS)
  expect(midMove).toBeGreaterThanOrEqual(2)

  const final = spawnSync(process.execPath, tierArgs, { cwd: ROOT, env, encoding: "utf8" })
  expect(final.status, final.stderr).toBe(0)
  await readsOnce()

  const hotFrom = END - 90 * DAY_MS
  for (const s of series) {
    const hot = await readHot(ns.sql, "bars", { symbol: "AAPL", interval: s.interval }, ...ALL)
    const cold = (await readCold(store, "bars", "AAPL", s.interval, ...ALL)).sort((a, b) => a.ts - b.ts)
    const keys = [...hot, ...cold].map(naturalKey.bars)
    expect(new Set(keys).size, `${s.interval}: a row held twice`).toBe(keys.length)
    expect(hot, `${s.interval} hot`).toEqual(s.rows.filter((b) => b.ts >= hotFrom))
    expect(cold, `${s.interval} cold`).toEqual(s.rows.filter((b) => b.ts < hotFrom))
  }
  console.info(`warm-up crash test: ${kills} kills, ${midMove} while rows were moving`)
}, 240_000)
