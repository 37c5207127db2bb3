/**
 * Crash test of the scanner archive: a real engine process archiving to S3 (s3rver) is
 * killed with SIGKILL at seeded random instants while a stream of 50,000 scores entries
 * arrives and is archived in small chunks, and restarted each time. Afterwards the archive
 * holds every entry of the stream exactly once (entry IDs compared over every stored part,
 * no de-duplication), dead-lettered entries marked as in an uninterrupted run, the mark is
 * the last entry, and the engine's outputs equal those of the uninterrupted run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { compareEntryIds } from "../../src/domain/time.ts"
import { localObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { ARCHIVE_ROOT, parsePartKey } from "../../src/storage/scores-archive.ts"
import { prng, workloadArray } from "../../fixtures/workload.ts"
import { runEngine, streamFields, waitUntil } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from "../helpers/s3.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import { allArchivedRows } from "../helpers/archive.ts"
import { exited, startEngineProcess } from "../helpers/processes.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const EVENTS = 50_000
const SYMBOLS = 500
const KILLS = 12
const ARCHIVE = { every: "50ms", max_rows: 1_500 }

/** Parts whose first entry lies past the mark: left by a chunk that was not verified yet. */
const unverifiedParts = async (store: ObjectStore, mark: string | undefined): Promise<number> =>
  (await store.list(ARCHIVE_ROOT)).map(parsePartKey).filter((p) => p && (mark === undefined || compareEntryIds(p.firstId, mark) > 0)).length

describe("scores archive crash safety", () => {
  let crash: TestNamespace
  let ref: TestNamespace
  let s3: TestS3
  let dir: string
  let crashEnv: NodeJS.ProcessEnv
  const entries = workloadArray({ events: EVENTS, symbols: SYMBOLS, seed: 17, start: Date.UTC(2026, 10, 2, 13, 30), stepMs: 200, lateShare: 0.01, badShare: 0.005 })
    // Entry IDs 200 ms apart, like the event times: the stream spans three UTC hours.
    .map((e, i): StreamEntry => ({ id: `${Date.UTC(2026, 10, 2, 13, 30) + i * 200}-0`, fields: e.fields }))

  beforeAll(async () => {
    s3 = await startS3()
    crash = await testNamespace(ENGINE_ONLY)
    ref = await testNamespace({ ...ENGINE_ONLY, archive: ARCHIVE })
    dir = mkdtempSync(join(tmpdir(), "strata-archive-crash-"))
    // A short lease: each restarted engine waits out the killed one's lease before it applies.
    writeFileSync(join(dir, "engine.yaml"), JSON.stringify({
      backfill: { enabled: false }, lease: { ttl_ms: 2000 }, archive: ARCHIVE,
      storage: { s3: { bucket: s3.bucket, prefix: `${crash.prefix}/`, endpoint: s3.endpoint, region: "us-east-1", force_path_style: true } }
    }))
    crashEnv = {
      ...crash.env, STRATA_CONFIG: join(dir, "engine.yaml"),
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey
    }
  })
  afterAll(async () => {
    await crash?.cleanup()
    await ref?.cleanup()
    await s3?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`archives every entry exactly once through ${KILLS} kill -9 at random instants`, async () => {
    const last = (entries.at(-1) as StreamEntry).id
    // The uninterrupted run (in process, local lake).
    await xaddAll(ref.redis, ingressKeys(ref.prefix).scores, entries)
    const refKeys = partitionKeys(ref.prefix, 0)
    const refEngine = await runEngine(ref.config)
    await waitUntil("reference run archived everything", async () => (await readArchiveMark(ref.redis, refKeys)) === last, 300_000)
    await refEngine.stop()

    const keys = partitionKeys(crash.prefix, 0)
    const scores = ingressKeys(crash.prefix).scores
    const store = s3.store(`${crash.prefix}/`)
    const rand = prng(23)
    const segment = Math.ceil(EVENTS / (KILLS + 1))
    const mark = () => readArchiveMark(crash.redis, keys)
    const archived = async () => {
      const m = await mark()
      return m === undefined ? -1 : entries.findIndex((e) => e.id === m)
    }
    let kills = 0
    let midArchive = 0 // kills that left a written part not yet verified
    let missedInFlight = 0
    let child = startEngineProcess(crashEnv)
    for (let from = 0; from < EVENTS; from += segment) {
      const before = await archived()
      await xaddAll(crash.redis, scores, entries.slice(from, from + segment), 250)
      if (from + segment >= EVENTS) break
      // Kill only once this engine has archived something: the kills land among chunks.
      await waitUntil("the archive to move on", async () => (await archived()) > before, 120_000)
      if (rand() < 0.5) {
        // Half the kills: at a random instant.
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 60)))
      } else {
        // The other half: while a chunk is written but not yet verified (parts past the mark).
        await waitUntil("a chunk in flight", async () => (await unverifiedParts(store, await mark())) > 0, 60_000)
          .catch(() => { missedInFlight++ }) // the chunks were too quick to be seen: kill anyway, counted
      }
      child.kill("SIGKILL")
      await exited(child)
      kills++
      if ((await unverifiedParts(store, await mark())) > 0) midArchive++
      child = startEngineProcess(crashEnv)
    }
    await waitUntil("the crashing run archived everything", async () => (await mark()) === last, 300_000)
    child.kill("SIGTERM")
    await exited(child)
    console.info(`archive crash test: ${kills} kills, ${midArchive} left a part written but not yet verified, ${missedInFlight} waits for a chunk in flight gave up`)
    expect(kills).toBeGreaterThanOrEqual(10)
    expect(midArchive).toBeGreaterThanOrEqual(2)

    // Every entry exactly once, over every stored part as it is (no de-duplication).
    const rows = await allArchivedRows(store)
    expect(rows.length).toBe(EVENTS)
    expect(rows.map((r) => r.id)).toEqual(entries.map((e) => e.id))
    expect(rows.map((r) => r.fields)).toEqual(entries.map((e) => e.fields))
    expect(await unverifiedParts(store, last)).toBe(0)
    // The same archive, dead letters marked alike, as the uninterrupted run's.
    const refRows = await allArchivedRows(localObjectStore(ref.config.storage.lake))
    const marks = (rs: typeof rows) => rs.filter((r) => r.dead).map((r) => [r.id, r.deadReason])
    expect(marks(rows)).toEqual(marks(refRows))
    expect(marks(rows).length).toBeGreaterThan(100)

    // The engine's own outputs equal the uninterrupted run's.
    const stats = await crash.redis.hgetall(keys.stats)
    const refStats = await ref.redis.hgetall(refKeys.stats)
    expect(Number(stats["entries"])).toBe(EVENTS)
    for (const f of ["applied", "late", "dead", "transitions", "commands"]) expect(stats[f]).toBe(refStats[f])
    expect(await crash.redis.hgetall(keys.snapshots)).toEqual(await ref.redis.hgetall(refKeys.snapshots))
    expect(await streamFields(crash.redis, keys.lifecycle)).toEqual(await streamFields(ref.redis, refKeys.lifecycle))
    expect(await streamFields(crash.redis, ingressKeys(crash.prefix).scoresDead)).toEqual(await streamFields(ref.redis, ingressKeys(ref.prefix).scoresDead))
  }, 1_200_000)
})
