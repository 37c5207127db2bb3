/**
 * The scanner archive on a local lake and on S3 (s3rver): the engine archives what it has
 * applied, dead-lettered entries marked with their reason, and moves the mark only over
 * verified parts; the history (archive + Redis) reads as one ordered stream across the mark
 * while the mark moves and the stream is trimmed up to it; a dry-run replay of an archived,
 * trimmed day equals the lifecycle the live engine produced that day.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { PartitionLease } from "../../streams/lease.ts"
import { archivePass, archiverDeps } from "../../src/engine/archiver.ts"
import { dryRunReplay } from "../../src/replay/dry-run.ts"
import { readRecording } from "../../src/replay/file.ts"
import { readHistory } from "../../src/replay/history.ts"
import { localObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { ARCHIVE_ROOT } from "../../src/storage/scores-archive.ts"
import { allArchivedRows } from "../helpers/archive.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { runStrata } from "../helpers/cli.ts"
import { runEngine, waitUntil } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { startS3, type TestS3 } from "../helpers/s3.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import type { Config } from "../../config/schema.ts"

/** Workload entries re-stamped so that entry IDs advance `stepMs` apart, like their `ts`. */
const spread = (entries: readonly StreamEntry[], start: number, stepMs: number): StreamEntry[] =>
  entries.map((e, i) => ({ id: `${start + i * stepMs}-0`, fields: e.fields }))

const history = (ns: TestNamespace, store: ObjectStore, from?: string, to?: string, chunk?: number) =>
  readHistory({
    redis: ns.redis, store, scores: ingressKeys(ns.prefix).scores, keys: partitionKeys(ns.prefix, 0),
    ...(from ? { from } : {}), ...(to ? { to } : {}), ...(chunk ? { chunk } : {})
  })

/** The live engine applies `entries` and archives them: returns once the mark is the last one. */
const archiveLive = async (ns: TestNamespace, entries: readonly StreamEntry[]): Promise<void> => {
  const engine = await runEngine(ns.config)
  try {
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries)
    const last = (entries.at(-1) as StreamEntry).id
    const keys = partitionKeys(ns.prefix, 0)
    await waitUntil("the archive mark reached the last entry", async () => (await readArchiveMark(ns.redis, keys)) === last, 120_000)
  } finally {
    await engine.stop()
  }
}

const collect = async (it: AsyncIterable<StreamEntry>) => {
  const out: StreamEntry[] = []
  for await (const e of it) out.push(e)
  return out
}

let s3: TestS3
beforeAll(async () => { s3 = await startS3() })
afterAll(async () => { await s3?.stop() })

describe.each(["local", "s3"] as const)("scores archive (%s lake)", (lake) => {
  let ns: TestNamespace
  let store: ObjectStore
  beforeAll(async () => {
    const prefix = `archive-${Math.random().toString(36).slice(2, 10)}/`
    const storage = lake === "s3"
      ? { s3: { bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: "us-east-1", force_path_style: true } }
      : {}
    ns = await testNamespace({ ...ENGINE_ONLY, storage, archive: { every: "100ms", max_rows: 700 } })
    process.env["AWS_ACCESS_KEY_ID"] = "S3RVER"
    process.env["AWS_SECRET_ACCESS_KEY"] = "S3RVER"
    store = lake === "s3" ? s3.store(prefix) : localObjectStore(ns.config.storage.lake)
  })
  afterAll(async () => { await ns?.cleanup() })

  it("archives every applied entry once, dead-lettered ones marked with the engine's reason", async () => {
    const entries = workloadArray({ events: 3_000, symbols: 30, seed: 5, start: Date.UTC(2026, 10, 2, 9), stepMs: 1_000, lateShare: 0.02, badShare: 0.03 })
    await archiveLive(ns, entries)
    const rows = await allArchivedRows(store)
    expect(rows.map((r) => r.id)).toEqual(entries.map((e) => e.id))
    expect(rows.map((r) => r.fields)).toEqual(entries.map((e) => e.fields))
    const deadLetters = (await ns.redis.xrange(ingressKeys(ns.prefix).scoresDead, "-", "+"))
      .map(([id, f]) => ({ id, d: parseDeadLetter(f) }))
    expect(deadLetters.length).toBeGreaterThan(20)
    const marked = rows.filter((r) => r.dead)
    expect(marked.map((r) => [r.id, r.deadReason, r.deadId])).toEqual(deadLetters.map(({ id, d }) => [d?.sourceId, d?.reason, id]))
    // Max 700 rows per part: several parts, each a verified step of the mark.
    expect((await store.list(ARCHIVE_ROOT)).length).toBeGreaterThanOrEqual(Math.ceil(entries.length / 700))
    if (lake === "local") {
      // DuckDB reads the parts with a glob, fields as JSON, times as timestamptz.
      const db = await DuckDBInstance.create(":memory:")
      const conn = await db.connect()
      try {
        const glob = join(ns.config.storage.lake, "scores/2026/11/02/*/*.parquet")
        const types = await conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${glob}'))`)
        expect(Object.fromEntries(types.getRows() as [string, string][])).toMatchObject({
          id: "VARCHAR", id_time: "TIMESTAMP WITH TIME ZONE", event_time: "TIMESTAMP WITH TIME ZONE", fields: "JSON", dead: "BOOLEAN"
        })
        const r = await conn.runAndReadAll(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, (count(*) FILTER (WHERE dead))::INTEGER AS dead,
                  (count(*) FILTER (WHERE json_extract_string(fields, '$[0]') = 'symbol'))::INTEGER AS symbol_first
           FROM read_parquet('${glob}')`)
        expect(r.getRowObjects()[0]).toEqual({ n: entries.length, ids: entries.length, dead: marked.length, symbol_first: entries.filter((e) => e.fields[0] === "symbol").length })
      } finally {
        conn.closeSync()
      }
    }
  }, 180_000)

  it("reads archive + Redis as one stream across a moving mark and a trimmed stream: no gap, no overlap", async () => {
    const scores = ingressKeys(ns.prefix).scores
    await ns.redis.del(scores, ingressKeys(ns.prefix).scoresDead, partitionKeys(ns.prefix, 0).scoresArchived)
    const entries = spread(
      workloadArray({ events: 5_000, symbols: 50, seed: 9, start: Date.UTC(2026, 10, 3, 22), stepMs: 1_500 }),
      Date.UTC(2026, 10, 3, 22), 1_500
    )
    await xaddAll(ns.redis, scores, entries)
    const keys = partitionKeys(ns.prefix, 0)
    // No engine: the group says what was applied, the lease fences the mark.
    await ns.redis.xgroup("CREATE", scores, GROUPS.engine, (entries[1_999] as StreamEntry).id)
    const lease = new PartitionLease(ns.redis, keys, 60_000)
    expect((await lease.acquire()).held).toBe(true)
    const deps = archiverDeps(ns.config, { redis: ns.redis, store, lease })
    const trimToMark = async () => {
      const mark = await readArchiveMark(ns.redis, keys)
      await ns.redis.xtrim(scores, "MINID", mark as string)
    }
    expect((await archivePass(deps)).mark).toBe((entries[1_999] as StreamEntry).id)
    await trimToMark()
    expect(await ns.redis.xlen(scores)).toBe(3_001)

    const from = (entries[500] as StreamEntry).id
    const to = String(Number((entries[4_500] as StreamEntry).id.split("-")[0]))
    const reader = history(ns, store, from, to, 300)
    const got: StreamEntry[] = []
    // Past the seam into Redis, then the mark moves on and the stream is trimmed to it.
    for (;;) {
      const n = await reader.next()
      if (n.done) break
      got.push(n.value)
      if (got.length === 1_800) {
        await ns.redis.xgroup("SETID", scores, GROUPS.engine, (entries[3_999] as StreamEntry).id)
        expect((await archivePass(deps)).mark).toBe((entries[3_999] as StreamEntry).id)
        await trimToMark()
      }
    }
    expect(got.map((e) => e.id)).toEqual(entries.slice(500, 4_501).map((e) => e.id))
    expect(got).toEqual(entries.slice(500, 4_501))
    // The whole stream's range, now nearly all from the lake.
    expect((await collect(history(ns, store, entries[0]?.id))).map((e) => e.id)).toEqual(entries.map((e) => e.id))
    // `strata record` over the same range writes the same entries in the recording format.
    const dir = mkdtempSync(join(tmpdir(), "strata-archive-"))
    try {
      const out = join(dir, "range.ndjson")
      const env = lake === "s3"
        ? { ...ns.env, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" }
        : ns.env
      const cfg = writeConfig(dir, { storage: ns.config.storage })
      const r = await runStrata({ ...env, STRATA_CONFIG: cfg }, ["record", "--from", from, "--to", to, "-o", out, "--no-progress", "--json"])
      expect(r.code, r.err).toBe(0)
      expect(await collect(readRecording(out))).toEqual(entries.slice(500, 4_501))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    await lease.release()
  }, 180_000)
})

describe("an interrupted archive chunk", () => {
  let ns: TestNamespace
  beforeAll(async () => { ns = await testNamespace({ ...ENGINE_ONLY, archive: { max_rows: 400 } }) })
  afterAll(async () => { await ns?.cleanup() })

  it("is replaced and its leftover deleted before the mark moves; a fenced writer never moves the mark", async () => {
    const start = Date.UTC(2026, 10, 2, 10, 59, 50)
    const entries = spread(workloadArray({ events: 1_000, symbols: 20, seed: 3, start, stepMs: 50 }), start, 50)
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    await xaddAll(ns.redis, scores, entries)
    await ns.redis.xgroup("CREATE", scores, GROUPS.engine, (entries.at(-1) as StreamEntry).id)
    const lease = new PartitionLease(ns.redis, keys, 60_000)
    expect((await lease.acquire()).held).toBe(true)
    const store = localObjectStore(ns.config.storage.lake)
    const good = archiverDeps(ns.config, { redis: ns.redis, store, lease })
    // A writer whose epoch is not the lease's: it writes its parts, then the mark refuses it,
    // as for an owner paused past its lease; its parts stay behind past the mark.
    const stale = { ...good, holder: () => ({ owner: lease.owner, epoch: "999999" }) }
    await expect(archivePass(stale)).rejects.toThrow(/STRATA_FENCED/)
    expect(await readArchiveMark(ns.redis, keys)).toBeUndefined()
    const leftover = await store.list(ARCHIVE_ROOT)
    // 400 entries 50 ms apart from 10:59:50: 200 in hour 10, 200 in hour 11.
    expect(leftover.length).toBe(2)
    const report = await archivePass(good)
    expect(report.mark).toBe((entries.at(-1) as StreamEntry).id)
    expect(report.leftovers).toBe(2)
    const rows = await allArchivedRows(store)
    expect(rows.map((r) => r.id)).toEqual(entries.map((e) => e.id))
    for (const key of await store.list(ARCHIVE_ROOT)) expect(key).toMatch(new RegExp(`\\.e${lease.epoch}\\.parquet$`))
    await lease.release()
  }, 120_000)
})

describe("strata archive --once", () => {
  let ns: TestNamespace
  beforeAll(async () => { ns = await testNamespace(ENGINE_ONLY) })
  afterAll(async () => { await ns?.cleanup() })

  it("archives what the engine's group has applied, under the partition lease, and reports it", async () => {
    const start = Date.UTC(2026, 10, 2, 12)
    const entries = spread(workloadArray({ events: 1_200, symbols: 20, seed: 4, start, stepMs: 1_000 }), start, 1_000)
    const scores = ingressKeys(ns.prefix).scores
    await xaddAll(ns.redis, scores, entries)
    // Applied up to the 1,000th entry, the next 100 read but not acknowledged.
    await ns.redis.xgroup("CREATE", scores, GROUPS.engine, (entries[999] as StreamEntry).id)
    await ns.redis.xreadgroup("GROUP", GROUPS.engine, "c", "COUNT", 100, "STREAMS", scores, ">")
    const r = await runStrata(ns.env, ["archive", "--once", "--json"])
    expect(r.code, r.err).toBe(0)
    const report = JSON.parse(r.out) as { rows: number; mark: string }
    expect(report).toMatchObject({ rows: 1_000, mark: (entries[999] as StreamEntry).id })
    expect((await allArchivedRows(localObjectStore(ns.config.storage.lake))).map((x) => x.id)).toEqual(entries.slice(0, 1_000).map((e) => e.id))
    // The lease was given up: the next pass takes it again at once.
    await ns.redis.xack(scores, GROUPS.engine, ...entries.slice(1_000, 1_100).map((e) => e.id))
    const again = await runStrata(ns.env, ["archive", "--once", "--json"])
    expect(again.code, again.err).toBe(0)
    expect(JSON.parse(again.out)).toMatchObject({ rows: 100, mark: (entries[1_099] as StreamEntry).id })
  }, 120_000)
})

/** Settings for a child process, as a config file (JSON is YAML). */
const writeConfig = (dir: string, settings: Partial<Config>): string => {
  const path = join(dir, "config.yaml")
  writeFileSync(path, JSON.stringify(settings))
  return path
}

describe("a dry-run replay of an archived day", () => {
  let ns: TestNamespace
  beforeAll(async () => {
    ns = await testNamespace({ ...ENGINE_ONLY, lifecycle: { min_dwell: "30m" }, archive: { every: "100ms", max_rows: 2_000 } })
  })
  afterAll(async () => { await ns?.cleanup() })

  it("equals the lifecycle the live engine produced that day, read back from the lake after a trim", async () => {
    const start = Date.UTC(2026, 10, 1, 18)
    // 60 hours of scores, one every 30 s over 40 symbols: Nov 1 evening to Nov 4 morning.
    const entries = spread(workloadArray({ events: 7_200, symbols: 40, seed: 21, start, stepMs: 30_000, lateShare: 0.01, badShare: 0.01 }), start, 30_000)
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    await archiveLive(ns, entries)
    const lifecycle = (await ns.redis.xrange(keys.lifecycle, "-", "+")).map(([, f]) => f)
    await ns.redis.xtrim(scores, "MINID", (entries.at(-1) as StreamEntry).id)
    expect(await ns.redis.xlen(scores)).toBe(1)

    // Replaying from the first day on: the day's actors start where the live ones did.
    const store = localObjectStore(ns.config.storage.lake)
    const dayEnd = String(Date.UTC(2026, 10, 2, 23, 59, 59, 999))
    const run = await dryRunReplay(history(ns, store, "-", dayEnd), ns.config)
    const causeMs = (f: readonly string[]) => Number((f[f.indexOf("cause") + 1] as string).split("-")[0])
    const liveUpToDayEnd = lifecycle.filter((f) => causeMs(f) <= Number(dayEnd))
    const liveDay = liveUpToDayEnd.filter((f) => causeMs(f) >= Date.UTC(2026, 10, 2))
    expect(liveDay.length).toBeGreaterThan(20)
    expect(run.lifecycle).toEqual(liveUpToDayEnd)
    expect(run.lifecycle.filter((f) => causeMs(f) >= Date.UTC(2026, 10, 2))).toEqual(liveDay)

    // The CLI over the same history: the same number of transitions.
    const dir = mkdtempSync(join(tmpdir(), "strata-archive-"))
    const r = await runStrata({ ...ns.env, STRATA_CONFIG: writeConfig(dir, { lifecycle: ns.config.lifecycle }) },
      ["replay", "--from", "2026-11-01", "--to", dayEnd, "--json", "--no-progress"])
    rmSync(dir, { recursive: true, force: true })
    expect(r.code, r.err).toBe(0)
    const summary = (JSON.parse(r.out) as { summary: { transitionsTotal: number; events: number } }).summary
    expect(summary.transitionsTotal).toBe(liveUpToDayEnd.length)
    expect(summary.events).toBe(entries.filter((e) => Number(e.id.split("-")[0]) <= Number(dayEnd)).length)
  }, 240_000)
})
