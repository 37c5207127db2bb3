/**
 * `lake verify --repair` shares the lake with the scanner archive's `scores/` parts and
 * treats them as not its own: it neither reports them (missing, damaged, pending, unnamed
 * or foreign) nor deletes, adopts or rewrites them, while it repairs the cold objects
 * beside them (a lost object, a stray one).
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { STORAGE_DDL, localObjectStore, writeCold, type Lake } from "../../src/storage/index.ts"
import { verifyLake } from "../../src/storage/lake.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import { ARCHIVE_ROOT, encodeArchivePart, partKey, type ArchivedScore } from "../../src/storage/scores-archive.ts"
import { encodeParquet } from "../../src/storage/parquet.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { allArchivedRows } from "../helpers/archive.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

let ns: TestNamespace
let lake: Lake

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  lake = { sql: ns.sql, store: localObjectStore(ns.config.storage.lake) }
})

afterAll(async () => {
  await ns?.cleanup()
})

const T = Date.UTC(2026, 10, 2, 14)
const score = (ms: number, seq: number, symbol: string): ArchivedScore => ({
  id: `${ms}-${seq}`, idTime: ms, eventTime: ms - 5, symbol, fields: ["symbol", symbol, "score", String(seq)],
  dead: false, deadReason: null, deadId: null
})

it("verify --repair leaves the scanner archive's scores/ parts alone, unreported, while repairing cold objects", async () => {
  // Two archive parts in two hours, one of them superseded by a later epoch (as a retried pass leaves).
  const parts = [
    { key: partKey(`${T}-0`, "1"), rows: [score(T, 0, "AAPL"), score(T + 10, 0, "MSFT")] },
    { key: partKey(`${T}-0`, "2"), rows: [score(T, 0, "AAPL"), score(T + 10, 0, "MSFT"), score(T + 20, 0, "AAPL")] },
    { key: partKey(`${T + 3_600_000}-0`, "1"), rows: [score(T + 3_600_000, 0, "NVDA")] }
  ]
  const bytes = new Map<string, Uint8Array>()
  for (const p of parts) {
    const b = await encodeArchivePart(p.rows)
    bytes.set(p.key, b)
    await lake.store.put(p.key, b)
  }
  const archived = await allArchivedRows(lake.store)
  // Cold objects beside them: one kept, one lost from the store, one stray the manifest never named.
  await writeCold(lake, "bars", sampleBars("AAPL", "1day", Date.UTC(2024, 0, 1), 30))
  await writeCold(lake, "bars", sampleBars("MSFT", "1hour", Date.UTC(2024, 0, 1), 48))
  const lost = (await allObjects(ns.sql, lake.store.location)).find((o) => o.symbol === "MSFT")!
  await lake.store.delete(lost.key)
  const stray = "market_data/NVDA/1day/2020/part-0123456789ab.parquet"
  await lake.store.put(stray, encodeParquet("bars", sampleBars("NVDA", "1day", Date.UTC(2021, 0, 4), 10)))

  const report = await verifyLake(lake, { repair: true, deep: true })
  expect(report.missing).toEqual([lost.key])
  expect(report.unnamed).toEqual([stray])
  expect(report.repaired).toEqual({ adopted: 1, deleted: 0, forgotten: 1 })
  const named = [...report.missing, ...report.damaged, ...report.pending, ...report.unnamed, ...report.foreign]
  expect(named.filter((k) => k.startsWith(ARCHIVE_ROOT))).toEqual([])
  // Every part still there, byte for byte, and none of them in the manifest.
  expect((await lake.store.list(ARCHIVE_ROOT)).sort()).toEqual(parts.map((p) => p.key).sort())
  for (const p of parts) expect(await lake.store.get(p.key)).toEqual(bytes.get(p.key))
  expect((await allObjects(ns.sql, lake.store.location)).filter((o) => o.key.startsWith(ARCHIVE_ROOT))).toEqual([])
  expect(await allArchivedRows(lake.store)).toEqual(archived)

  // Repaired: a second pass finds nothing to say, about the cold objects or the archive.
  const again = await verifyLake(lake, { repair: true, deep: true })
  expect({ ...again, objects: 0 }).toEqual({
    objects: 0, missing: [], damaged: [], pending: [], unnamed: [], foreign: [], repaired: { adopted: 0, deleted: 0, forgotten: 0 }
  })
  expect((await lake.store.list(ARCHIVE_ROOT)).sort()).toEqual(parts.map((p) => p.key).sort())
})
