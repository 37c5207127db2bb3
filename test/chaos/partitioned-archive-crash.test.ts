/**
 * Crash test of the scanner archive in a partitioned install: two `strata engine` processes
 * of an install of 4 partitions, the router's holder archiving the ingress stream while it
 * trims it, and that holder killed with SIGKILL: first with a chunk's parts written and
 * verified in the lake and the mark not yet moved (the stall fault of archive-faults.ts),
 * then at seeded instants while the mark moves; each killed engine is started again. The
 * other engine takes the router's lease and goes on from the mark. At the end the archive
 * holds every ingress entry exactly once (IDs and fields compared), the ingress stream is
 * down to its retention, and the history over a range straddling the trim point reads
 * without a gap or a duplicate.
 */
import type { ChildProcess } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { prng, workloadArray } from "../../fixtures/workload.ts"
import { compareEntryIds } from "../../src/domain/time.ts"
import { readHistory } from "../../src/replay/history.ts"
import type { ObjectStore } from "../../src/storage/object-store.ts"
import { ARCHIVE_ROOT, parsePartKey } from "../../src/storage/scores-archive.ts"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { archiveKeys, ingressKeys, routerKeys } from "../../streams/keys.ts"
import { allArchivedRows, archivingPartitions } from "../helpers/archive.ts"
import { crashInstall, type CrashInstall } from "../helpers/archive-crash.ts"
import { exited } from "../helpers/processes.ts"
import { waitUntil } from "../helpers/engine.ts"
import type { TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const COUNT = 4
const KEEP = 20
const KILLS = 4
const OVERRIDES = archivingPartitions(COUNT, KEEP, 250)

let install: CrashInstall
let ns: TestNamespace
let store: ObjectStore
let dir: string

const startEngine = (extra: NodeJS.ProcessEnv = {}): ChildProcess => install.startEngine(extra)

/** The engine process holding the router's lease now (owner ids are host:pid:random). */
const routerHolder = (): Promise<ChildProcess | undefined> => install.holderOf(routerKeys(ns.prefix).lease)

/** Parts in the lake whose first entry lies past the mark: a chunk not yet counted. */
const partsPastMark = async (): Promise<number> => {
  const mark = await readArchiveMark(ns.redis, archiveKeys(ns.prefix, COUNT))
  return (await store.list(ARCHIVE_ROOT)).map(parsePartKey)
    .filter((p) => p !== undefined && (mark === undefined || compareEntryIds(p.firstId, mark) > 0)).length
}

beforeAll(async () => {
  install = await crashInstall(OVERRIDES, { folder: "strata-parchive-", logLevel: "silent", stderr: "ignore" })
  ns = install.ns
  store = install.store
  dir = install.dir
})

afterAll(async () => {
  await install?.close()
})

it(`archives every ingress entry exactly once through ${KILLS} kill -9 of the router's holder mid-archive`, async () => {
  const ingress = ingressKeys(ns.prefix)
  const keys = archiveKeys(ns.prefix, COUNT)
  const rand = prng(20261202)
  const input = workloadArray({ events: 10_000, symbols: 100, seed: 77, start: Date.UTC(2026, 0, 9, 15, 59, 58), stepMs: 1_000, badShare: 0.02 })
  const mark = () => readArchiveMark(ns.redis, keys)

  // The first engine alone: it takes the router's lease, and its archive stalls with a chunk
  // written and verified but not marked.
  const stalled = join(dir, "stall")
  mkdirSync(stalled)
  const first = startEngine({ STRATA_ARCHIVE_FAULT: `stall:${stalled}` })
  await waitUntil("the first engine holds the router's lease", async () => (await routerHolder()) === first, 60_000)
  startEngine()
  const segment = Math.ceil(input.length / KILLS)
  await xaddAll(ns.redis, ingress.scores, input.slice(0, segment))
  await waitUntil("a chunk written and verified, not yet marked", () => existsSync(join(stalled, "stalled")), 120_000)
  expect(await partsPastMark()).toBeGreaterThan(0)
  const leftAtKill: number[] = []
  const kill = async (victim: ChildProcess) => {
    victim.kill("SIGKILL")
    await exited(victim)
    leftAtKill.push(await partsPastMark())
    startEngine()
  }
  await kill(first)

  // Then the router's holder, whichever it is, at seeded instants while the mark moves.
  for (let k = 1; k < KILLS; k++) {
    const before = await mark()
    await xaddAll(ns.redis, ingress.scores, input.slice(k * segment, (k + 1) * segment))
    await waitUntil("the archive to move on", async () => {
      const now = await mark()
      return now !== undefined && (before === undefined || compareEntryIds(now, before) > 0)
    }, 120_000)
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 150)))
    let victim: ChildProcess | undefined
    await waitUntil("an engine holds the router's lease", async () => (victim = await routerHolder()) !== undefined, 60_000)
    await kill(victim as ChildProcess)
  }

  const last = (input.at(-1) as StreamEntry).id
  await waitUntil("everything archived", async () => (await mark()) === last, 240_000)
  await waitUntil("the ingress stream trimmed to its retention", async () => (await ns.redis.xlen(ingress.scores)) === KEEP, 120_000)
  // The kill with a chunk in the lake left parts past the mark; the archive replaced them.
  expect(leftAtKill[0]).toBeGreaterThan(0)
  const rows = await allArchivedRows(store)
  expect(rows.map((r) => r.id)).toEqual(input.map((e) => e.id))
  expect(rows.map((r) => r.fields)).toEqual(input.map((e) => e.fields))
  expect(await partsPastMark()).toBe(0)

  const from = (input[segment - 100] as StreamEntry).id
  const to = (input[input.length - 3] as StreamEntry).id
  const got: StreamEntry[] = []
  for await (const e of readHistory({ redis: ns.redis, store, scores: ingress.scores, keys, from, to, chunk: 11 })) got.push(e)
  expect(got).toEqual(input.slice(segment - 100, input.length - 2))
  console.log(`parts past the mark right after each kill: ${leftAtKill.join(", ")}`)
}, 600_000)
