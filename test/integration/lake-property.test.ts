/**
 * Property: for random sequences of backfill writes, tiering passes, compactions and
 * crashes (seeded fast-check), once a final pass has run without a crash, the union of
 * hot and cold holds every reference row still kept exactly once — hot inside the hot
 * window, cold before it — and the manifest names exactly the objects in the store.
 * A crash is a store that fails at its n-th write or delete (after or before doing it),
 * which stops the operation there, as kill -9 would; test/chaos/ kills real processes.
 * Runs on the local folder and on s3rver.
 */
import { fc, test } from "@fast-check/vitest"
import { afterAll, beforeAll, describe, expect } from "vitest"
import { loadConfig } from "../../config/load.ts"
import type { Bar } from "../../src/domain/rows.ts"
import { DAY_MS, utcDay } from "../../src/domain/time.ts"
import { runCompaction } from "../../src/storage/compaction.ts"
import { STORAGE_DDL, localObjectStore, readCold, readHot, writeRows, type ObjectStore } from "../../src/storage/index.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { runTiering } from "../../src/storage/tiering.ts"
import { startS3, type TestS3 } from "../helpers/s3.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2024, 0, 1)
const SOURCE_DAYS = 75
const ALL = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as const
// L1 defaults for 5-minute bars: hot 14 days, kept 365.
const policy = loadConfig({ env: {} }).retention
const HOT_DAYS = 14
const KEEP_DAYS = 365

let ns: TestNamespace
let s3: TestS3

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  s3 = await startS3()
})

afterAll(async () => {
  await s3?.stop()
  await ns?.cleanup()
})

class Killed extends Error {}

/** A store that dies at its `at`-th write or delete, before or after doing it. */
const dying = (store: ObjectStore, at: number, after: boolean): ObjectStore => {
  let n = 0
  const step = async (op: () => Promise<void>) => {
    n++
    if (n === at && !after) throw new Killed("killed before a write")
    await op()
    if (n === at && after) throw new Killed("killed after a write")
  }
  return { ...store, put: (k, b) => step(() => store.put(k, b)), delete: (k) => step(() => store.delete(k)) }
}

type Op =
  | { op: "backfill"; start: number; days: number }
  | { op: "tier"; advance: number }
  | { op: "compact"; full: boolean }

const opArb: fc.Arbitrary<{ op: Op; kill: { at: number; after: boolean } | null }> = fc.record({
  op: fc.oneof(
    fc.record({ op: fc.constant("backfill" as const), start: fc.integer({ min: 0, max: SOURCE_DAYS - 1 }), days: fc.integer({ min: 1, max: 30 }) }),
    fc.record({ op: fc.constant("tier" as const), advance: fc.integer({ min: 0, max: 200 }) }),
    fc.record({ op: fc.constant("compact" as const), full: fc.boolean() })
  ),
  kill: fc.option(fc.record({ at: fc.integer({ min: 1, max: 6 }), after: fc.boolean() }), { freq: 2 })
})

const key = (b: Bar) => b.ts

describe.each(["local", "s3"] as const)("hot + cold with the lake on %s", (where) => {
  let base: ObjectStore
  let run = 0
  beforeAll(() => {
    base = where === "local" ? localObjectStore(`${ns.config.storage.lake}-prop`) : s3.store("prop/")
  })

  test.prop([fc.array(opArb, { minLength: 2, maxLength: 8 })], { numRuns: 12, seed: 20261201, endOnFailure: true })(
    "every kept row once, in its tier, and the manifest equals the store",
    async (ops) => {
      const symbol = `Q${where === "local" ? "L" : "S"}${run++}`
      const source = sampleBars(symbol, "5min", T0, SOURCE_DAYS * 288)
      const written = new Map<number, Bar>()
      let now = T0 + 40 * DAY_MS
      const layersOf = async () => new Map([[symbol, 1 as const]])
      for (const { op, kill } of ops) {
        const store = kill ? dying(base, kill.at, kill.after) : base
        const deps = { sql: ns.sql, store }
        try {
          if (op.op === "backfill") {
            const rows = source.filter((b) => b.ts >= T0 + op.start * DAY_MS && b.ts < T0 + (op.start + op.days) * DAY_MS)
            const hotFrom = utcDay(now) + DAY_MS - HOT_DAYS * DAY_MS
            // Backfill writes only what the layer keeps at `now`.
            const kept = rows.filter((b) => b.ts >= utcDay(now) + DAY_MS - KEEP_DAYS * DAY_MS)
            await writeRows(deps, "bars", kept, hotFrom)
            for (const b of kept) written.set(key(b), b)
          } else if (op.op === "tier") {
            now += op.advance * DAY_MS
            await runTiering({ ...deps, layersOf }, policy, now, [symbol])
          } else {
            await runCompaction(deps, { now, full: op.full, symbols: [symbol] })
          }
        } catch (e) {
          if (!(e instanceof Killed)) throw e
          // A killed backfill may or may not have stored its rows: it is retried until done.
          if (op.op === "backfill") {
            const rows = source.filter((b) => b.ts >= T0 + op.start * DAY_MS && b.ts < T0 + (op.start + op.days) * DAY_MS)
            const kept = rows.filter((b) => b.ts >= utcDay(now) + DAY_MS - KEEP_DAYS * DAY_MS)
            await writeRows({ sql: ns.sql, store: base }, "bars", kept, utcDay(now) + DAY_MS - HOT_DAYS * DAY_MS)
            for (const b of kept) written.set(key(b), b)
          }
        }
      }
      // A final pass that runs to the end.
      await runTiering({ sql: ns.sql, store: base, layersOf }, policy, now, [symbol])
      await runCompaction({ sql: ns.sql, store: base }, { now, symbols: [symbol] })
      const end = utcDay(now) + DAY_MS
      const hotFrom = end - HOT_DAYS * DAY_MS
      const keepFrom = end - KEEP_DAYS * DAY_MS
      const expected = [...written.values()].filter((b) => b.ts >= keepFrom).sort((a, b) => a.ts - b.ts)
      const hot = await readHot(ns.sql, "bars", { symbol, interval: "5min" }, ...ALL)
      const cold = await readCold({ sql: ns.sql, store: base }, "bars", symbol, "5min", ...ALL)
      const keys = [...hot, ...cold].map(key)
      expect(new Set(keys).size, "a row held twice").toBe(keys.length)
      expect(hot).toEqual(expected.filter((b) => b.ts >= hotFrom))
      expect(cold).toEqual(expected.filter((b) => b.ts < hotFrom))
      expect((await allObjects(ns.sql, base.location)).map((o) => o.key)).toEqual(await base.list(""))
    }
  )
})
