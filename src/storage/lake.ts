/**
 * Whole-lake maintenance, the only code that lists the store:
 *   - `adoptObjects`: objects in the store that the manifest does not name and that no
 *     writer left pending (the earlier per-day layout, or parts of a lake whose manifest
 *     was lost) are read and added to the manifest, series by series, under the series
 *     lock, so they become readable through it;
 *   - `migrateLake`: adopt, then rewrite every period holding objects of the earlier
 *     layout as one part (compaction.ts). Each step is one manifest transaction, so the
 *     lake is readable throughout and a rerun after a crash finishes the job;
 *   - `verifyLake`: compare manifest and store (and, with `deep`, every checksum); with
 *     `repair`, adopt what the manifest lacks, delete leftovers, and forget manifest rows
 *     whose objects are gone or damaged — clearing their coverage, so backfill fetches
 *     those ranges again.
 * Does not run on any hot path: reads, tiering and compaction use the manifest alone.
 */
import type { StorageKind } from "../domain/rows.ts"
import { rowTime } from "../domain/rows.ts"
import { sha256, sweepSeries, withSeries, type Lake } from "./cold-commit.ts"
import { runCompaction, sweepLake, type CompactionReport } from "./compaction.ts"
import { clearCoverage } from "./coverage.ts"
import { COLD_PREFIX, keySpan, periodSpan, seriesOfKey } from "./layout.ts"
import { allObjects, commitObjects, forgetObjects, objectsOfPeriod, pendingOf, type ColdObject, type ColdSeries } from "./manifest.ts"
import { bufferOf, decodeParquet } from "./parquet.ts"

const KINDS: readonly StorageKind[] = ["bars", "news", "corporate_actions", "social_sentiment"]

interface Listed { key: string; series: ColdSeries }

/** Every object of ours in the store, with its series (keys of other shapes are returned apart). */
const listLake = async (lake: Lake): Promise<{ ours: Listed[]; foreign: string[] }> => {
  const ours: Listed[] = []
  const foreign: string[] = []
  for (const kind of KINDS) {
    for (const key of await lake.store.list(`${COLD_PREFIX[kind]}/`)) {
      const s = seriesOfKey(kind, key)
      if (s) ours.push({ key, series: { kind, ...s } })
      else foreign.push(key)
    }
  }
  return { ours, foreign }
}

const seriesName = (s: ColdSeries) => `${s.kind}|${s.symbol}|${s.interval}`

/** Read one unnamed object and describe it for the manifest; undefined when empty or gone. */
const describe = async (lake: Lake, s: ColdSeries, key: string): Promise<ColdObject | undefined> => {
  const bytes = await lake.store.get(key)
  if (!bytes) return undefined
  const rows = await decodeParquet(s.kind, bufferOf(bytes))
  if (rows.length === 0) return undefined
  const time = rowTime[s.kind] as (r: (typeof rows)[number]) => number
  let min = Infinity
  let max = -Infinity
  for (const r of rows) { min = Math.min(min, time(r)); max = Math.max(max, time(r)) }
  const span = periodSpan(s.kind, s.interval, min)
  return {
    key, ...s, periodFrom: span.from, periodTo: span.to, minMs: min, maxMs: max,
    rows: rows.length, bytes: bytes.byteLength, checksum: sha256(bytes)
  }
}

/** Add unnamed, non-pending objects to the manifest. Returns the keys adopted. */
export const adoptObjects = async (lake: Lake, keys?: readonly Listed[]): Promise<string[]> => {
  const candidates = keys ?? (await listLake(lake)).ours
  const bySeries = new Map<string, Listed[]>()
  for (const c of candidates) {
    const list = bySeries.get(seriesName(c.series))
    if (list) list.push(c)
    else bySeries.set(seriesName(c.series), [c])
  }
  const adopted: string[] = []
  const location = lake.store.location
  for (const list of bySeries.values()) {
    const s = (list[0] as Listed).series
    await withSeries(lake, s, async (conn, inTx) => {
      // Checked again under the lock: named or pending objects are someone else's.
      const named = new Set((await conn<{ key: string }[]>`
        SELECT key FROM cold_objects WHERE lake = ${location} AND key = ANY(${list.map((l) => l.key)})
        UNION SELECT key FROM cold_pending WHERE lake = ${location} AND key = ANY(${list.map((l) => l.key)})`).map((r) => r.key))
      const found: ColdObject[] = []
      for (const l of list) {
        if (named.has(l.key)) continue
        const o = await describe(lake, s, l.key)
        if (o) found.push(o)
      }
      if (found.length === 0) return
      await inTx(() => commitObjects(conn, location, found, []))
      for (const o of found) adopted.push(o.key)
    })
  }
  return adopted.sort()
}

export interface MigrationReport { adopted: number; compaction: CompactionReport }

/** Move a lake of the earlier layout to part objects, online (see the module header). */
export const migrateLake = async (
  lake: Lake, onProgress?: (phase: "adopt" | "rewrite", done: number, total: number) => void
): Promise<MigrationReport> => {
  const { ours } = await listLake(lake)
  const legacy = ours.filter((l) => keySpan(l.series.kind, l.series.interval, l.key)?.layout === "legacy")
  onProgress?.("adopt", 0, legacy.length)
  const adopted = await adoptObjects(lake, legacy)
  onProgress?.("adopt", legacy.length, legacy.length)
  const compaction = await runCompaction(lake, { legacyOnly: true, onPeriod: (d, t) => onProgress?.("rewrite", d, t) })
  return { adopted: adopted.length, compaction }
}

export interface VerifyReport {
  /** Objects the manifest names. */
  objects: number
  /** Named but absent from the store, of another size, or (deep) of another checksum. */
  missing: string[]
  damaged: string[]
  /** In the store, not named: left by a writer (pending), or not ours to know of (unnamed). */
  pending: string[]
  unnamed: string[]
  /** Keys under the lake's folders that are not cold objects at all. */
  foreign: string[]
  /** With repair: what was done. */
  repaired?: { adopted: number; deleted: number; forgotten: number }
}

/** Compare manifest and store; with `repair`, make them agree (see the module header). */
export const verifyLake = async (lake: Lake, options: { deep?: boolean; repair?: boolean } = {}): Promise<VerifyReport> => {
  const location = lake.store.location
  const { ours, foreign } = await listLake(lake)
  const listed = new Set(ours.map((l) => l.key))
  const manifest = await allObjects(lake.sql, location)
  const named = new Set(manifest.map((o) => o.key))
  const pendingKeys = new Set((await pendingOf(lake.sql, location)).map((p) => p.key))
  const report: VerifyReport = { objects: manifest.length, missing: [], damaged: [], pending: [], unnamed: [], foreign }
  for (const o of manifest) {
    if (!listed.has(o.key)) { report.missing.push(o.key); continue }
    if ((await lake.store.size(o.key)) !== o.bytes) { report.damaged.push(o.key); continue }
    if (options.deep) {
      const bytes = await lake.store.get(o.key)
      if (!bytes || sha256(bytes) !== o.checksum) report.damaged.push(o.key)
    }
  }
  const unnamed: Listed[] = []
  for (const l of ours) {
    if (named.has(l.key)) continue
    if (pendingKeys.has(l.key)) report.pending.push(l.key)
    else { report.unnamed.push(l.key); unnamed.push(l) }
  }
  if (options.repair) {
    const lost = manifest.filter((o) => report.missing.includes(o.key) || report.damaged.includes(o.key))
    let deleted = 0
    for (const o of lost) {
      await withSeries(lake, o, async (conn) => {
        // Still the same object under the lock (a compaction may have replaced it meanwhile).
        const still = (await objectsOfPeriod(conn, location, o, o.periodFrom)).some((x) => x.key === o.key && x.checksum === o.checksum)
        if (!still) return
        await forgetObjects(conn, location, [o.key])
        await lake.store.delete(o.key)
        await clearCoverage(lake.sql, o.kind, o.symbol, o.interval, { from: o.minMs, to: o.maxMs + 1 })
        deleted += await sweepSeries(lake, conn, o)
      })
    }
    deleted += await sweepLake(lake)
    const adopted = await adoptObjects(lake, unnamed)
    report.repaired = { adopted: adopted.length, deleted, forgotten: lost.length }
  }
  return report
}

/** The manifest's objects of one series overlapping [from, to), for readers such as DuckDB. */
export { coldKeys as lakeFiles } from "./cold-read.ts"
