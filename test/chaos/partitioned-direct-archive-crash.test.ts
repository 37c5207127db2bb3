/**
 * Crash test of the direct streams' archive: two `strata engine` processes of an install of
 * 4 partitions, 20,000 scores written straight into one partition's direct stream (none
 * through ingress) while its holder archives and trims it, and that holder killed with
 * SIGKILL: first with a chunk's parts written and verified in the lake and the direct mark
 * not yet moved (the stall fault of archive-faults.ts), then at seeded instants while the
 * mark moves; each killed engine is started again, and the partition's new holder goes on
 * from the mark. At the end the partition's direct tree holds every entry exactly once (IDs
 * and fields compared), no part lies past the mark, the direct stream is down to its
 * retention, and the history over a range straddling its trim point reads without a gap
 * or a duplicate.
 */
import type { ChildProcess } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { prng } from "../../fixtures/workload.ts"
import { compareEntryIds } from "../../src/domain/time.ts"
import { installHistory, readHistory } from "../../src/replay/history.ts"
import type { ObjectStore } from "../../src/storage/object-store.ts"
import { archiveRoot, parsePartKey } from "../../src/storage/scores-archive.ts"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { directArchiveKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { allArchivedRows, archivingPartitions } from "../helpers/archive.ts"
import { crashInstall, type CrashInstall } from "../helpers/archive-crash.ts"
import { exited } from "../helpers/processes.ts"
import { waitUntil } from "../helpers/engine.ts"
import type { TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const COUNT = 4
const P = 2
const KEEP = 20
const KILLS = 5
const EVENTS = 20_000
const OVERRIDES = archivingPartitions(COUNT, KEEP, 1_000)

let install: CrashInstall
let ns: TestNamespace
let store: ObjectStore
let dir: string

const startEngine = (extra: NodeJS.ProcessEnv = {}): ChildProcess => install.startEngine(extra)

/** The engine process holding partition P's lease now (owner ids are host:pid:random). */
const holderOfP = (): Promise<ChildProcess | undefined> => install.holderOf(partitionKeys(ns.prefix, P, COUNT).lease)

const mark = () => readArchiveMark(ns.redis, directArchiveKeys(ns.prefix, P, COUNT))

/** Parts of P's direct tree whose first entry lies past the mark: a chunk not yet counted. */
const partsPastMark = async (): Promise<number> => {
  const m = await mark()
  return (await store.list(archiveRoot(P))).map(parsePartKey)
    .filter((p) => p !== undefined && p.partition === P && (m === undefined || compareEntryIds(p.firstId, m) > 0)).length
}

beforeAll(async () => {
  install = await crashInstall(OVERRIDES, { folder: "strata-darchive-", logLevel: "error", stderr: "inherit" })
  ns = install.ns
  store = install.store
  dir = install.dir
})

afterAll(async () => {
  await install?.close()
})

it(`archives every direct entry exactly once through ${KILLS} kill -9 of its partition's holder mid-archive`, async () => {
  const rand = prng(20261204)
  const symbols = Array.from({ length: 26 * 26 }, (_, i) => String.fromCharCode(65 + Math.floor(i / 26), 65 + (i % 26)))
    .filter((s) => symbolPartition(s, COUNT) === P).slice(0, 40)
  const start = Date.UTC(2026, 0, 11, 13, 59, 50)
  // Entry IDs a millisecond apart across an hour's turn: parts in two hour folders.
  const input: StreamEntry[] = Array.from({ length: EVENTS }, (_, i) => ({
    id: `${start + i}-0`,
    fields: scoresFields(symbols[Math.floor(rand() * symbols.length)] as string, { liquidity_score: (i % 97) / 100, catalyst_score: 0.5, activity_score: 0.25 }, start + i)
  }))
  const direct = partitionKeys(ns.prefix, P, COUNT).scoresDirect

  // The first engine alone: it takes every partition, and its archive stalls with a chunk
  // of the direct stream written and verified but not marked.
  const stalled = join(dir, "stall")
  mkdirSync(stalled)
  const first = startEngine({ STRATA_ARCHIVE_FAULT: `stall:${stalled}` })
  await waitUntil("the first engine holds the partition", async () => (await holderOfP()) === first, 180_000)
  const segment = Math.ceil(input.length / KILLS)
  await xaddAll(ns.redis, direct, input.slice(0, segment))
  await waitUntil("a chunk written and verified, not yet marked", () => existsSync(join(stalled, "stalled")), 120_000)
  expect(await partsPastMark()).toBeGreaterThan(0)
  startEngine()
  const leftAtKill: number[] = []
  const kill = async (victim: ChildProcess) => {
    victim.kill("SIGKILL")
    await exited(victim)
    leftAtKill.push(await partsPastMark())
    startEngine()
  }
  await kill(first)

  // Then the partition's holder, whichever it is, at seeded instants while the mark moves.
  for (let k = 1; k < KILLS; k++) {
    const before = await mark()
    await xaddAll(ns.redis, direct, input.slice(k * segment, (k + 1) * segment))
    await waitUntil("the direct archive to move on", async () => {
      const now = await mark()
      return now !== undefined && (before === undefined || compareEntryIds(now, before) > 0)
    }, 180_000)
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 150)))
    let victim: ChildProcess | undefined
    await waitUntil("an engine holds the partition", async () => (victim = await holderOfP()) !== undefined, 60_000)
    await kill(victim as ChildProcess)
  }

  const last = (input.at(-1) as StreamEntry).id
  await waitUntil("everything archived", async () => (await mark()) === last, 300_000)
  await waitUntil("the direct stream trimmed to its retention", async () => (await ns.redis.xlen(direct)) === KEEP, 120_000)
  // The kill with a chunk in the lake left parts past the mark; the archive replaced them.
  expect(leftAtKill[0]).toBeGreaterThan(0)
  const rows = await allArchivedRows(store, P)
  expect(rows.length).toBe(input.length)
  expect(rows.map((r) => r.id)).toEqual(input.map((e) => e.id))
  expect(rows.map((r) => r.fields)).toEqual(input.map((e) => e.fields))
  expect(await partsPastMark()).toBe(0)

  const from = (input[segment - 100] as StreamEntry).id
  const to = (input[input.length - 3] as StreamEntry).id
  const got: StreamEntry[] = []
  for await (const e of readHistory({ redis: ns.redis, store, ...installHistory(ns.prefix, COUNT), from, to, chunk: 997 })) got.push(e)
  expect(got.length).toBe(input.length - segment + 98)
  expect(got).toEqual(input.slice(segment - 100, input.length - 2))
  console.log(`parts past the direct mark right after each kill: ${leftAtKill.join(", ")}`)
}, 900_000)
