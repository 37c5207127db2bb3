/**
 * `strata lake files|verify` and `strata compact` as an operator runs them, on the
 * namespace's local lake: the files printed are exactly the manifest's objects (and exist);
 * verify exits 0 on a consistent lake, 1 naming an object lost from the store, and
 * --repair makes it consistent again.
 */
import { existsSync } from "node:fs"
import { afterAll, beforeAll, expect, it } from "vitest"
import { STORAGE_DDL, localObjectStore, writeCold, type Lake } from "../../src/storage/index.ts"
import { verifyLake } from "../../src/storage/lake.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { runStrata } from "../helpers/cli.ts"
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

it("lists the manifest's files, compacts, verifies, and repairs a lost object", async () => {
  const minute = sampleBars("CLI", "1min", Date.UTC(2024, 0, 1), 20 * 1440)
  for (let i = 0; i < minute.length; i += 5 * 1440) await writeCold(lake, "bars", minute.slice(i, i + 5 * 1440))
  const files = await runStrata(ns.env, ["lake", "files", "bars", "--symbol", "cli", "--interval", "1min", "--json"])
  expect(files.code, files.err).toBe(0)
  const paths = JSON.parse(files.out) as string[]
  expect(paths).toHaveLength(4)
  expect(paths.every((p) => existsSync(p))).toBe(true)

  const compact = await runStrata(ns.env, ["compact", "--full", "--json"])
  expect(compact.code, compact.err).toBe(0)
  expect(JSON.parse(compact.out)).toMatchObject({ periods: 1, parts: 4, rows: minute.length })

  const clean = await runStrata(ns.env, ["lake", "verify", "--deep", "--json"])
  expect(clean.code, clean.err).toBe(0)
  expect(JSON.parse(clean.out)).toMatchObject({ objects: 1, missing: [], damaged: [], pending: [], unnamed: [] })

  const [only] = await allObjects(ns.sql, lake.store.location)
  await lake.store.delete(only!.key)
  const lost = await runStrata(ns.env, ["lake", "verify"])
  expect(lost.code).toBe(1)
  expect(lost.out).toContain(`missing  ${only!.key}`)
  const repaired = await runStrata(ns.env, ["lake", "verify", "--repair", "--json"])
  expect(repaired.code, repaired.err).toBe(0)
  expect(JSON.parse(repaired.out).repaired).toEqual({ adopted: 0, deleted: 0, forgotten: 1 })
  expect(await verifyLake(lake)).toMatchObject({ missing: [], damaged: [], pending: [], unnamed: [] })
}, 300_000)
