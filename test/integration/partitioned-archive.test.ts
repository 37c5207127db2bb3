/**
 * The scanner archive of a partitioned install: two engines of an install of 4 partitions,
 * the router's holder archiving the ingress stream while its trimming removes what is
 * archived; the router's lease moves to the other engine halfway, which goes on from the
 * mark. The archive then holds every ingress entry exactly once (IDs and fields compared),
 * dead-lettered ones marked with the router's reason; the ingress stream is down to its
 * retention; the history (archive + ingress stream) over a range straddling the trim point
 * reads without a gap or a duplicate, and `strata record` writes the same entries. And an
 * install grown from one partition goes on from partition 0's mark: its archive up to it
 * stays whole, nothing is archived twice.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { workloadArray } from "../../fixtures/workload.ts"
import { compareEntryIds } from "../../src/domain/time.ts"
import { readHistory } from "../../src/replay/history.ts"
import { createLogger } from "../../src/services/logger.ts"
import { localObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { archivePass, archiverDeps } from "../../src/engine/archiver.ts"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { archiveKeys, GROUPS, ingressKeys, partitionKeys, routerKeys } from "../../streams/keys.ts"
import { Lease } from "../../streams/lease.ts"
import { allArchivedRows, archivingPartitions, collect, recordedRange } from "../helpers/archive.ts"
import { runStrata } from "../helpers/cli.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { startPartitioned, type RunningPartitioned } from "../helpers/partitioned.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const COUNT = 4
const KEEP = 20
const OVERRIDES = archivingPartitions(COUNT, KEEP, 300)
const log = createLogger("test-partitioned-archive", process.env["LOG_LEVEL"] ?? "silent")

let ns: TestNamespace
let store: ObjectStore
const running: RunningPartitioned[] = []

beforeAll(async () => {
  ns = await testNamespace(OVERRIDES)
  store = localObjectStore(ns.config.storage.lake)
})
afterAll(async () => {
  for (const e of running.splice(0)) await e.stop()
  await store?.close()
  await ns?.cleanup()
})

it("archives every ingress entry exactly once while the router's holders trim it, across a move of the router's lease", async () => {
  const ingress = ingressKeys(ns.prefix)
  const keys = archiveKeys(ns.prefix, COUNT)
  const input = workloadArray({ events: 4_000, symbols: 60, seed: 20261202, start: Date.UTC(2026, 0, 8, 14, 59, 59), stepMs: 1_000, badShare: 0.03 })
  const half = input.slice(0, 2_000)
  const lastOf = (entries: readonly StreamEntry[]) => (entries.at(-1) as StreamEntry).id
  const trimmedTo = async (n: number) => (await ns.redis.xlen(ingress.scores)) === n

  running.push(await startPartitioned(ns, log), await startPartitioned(ns, log))
  const routing = () => running.find((e) => e.handles.router.lease.held() !== undefined)
  await waitUntil("one engine holds the router's lease", () => routing() !== undefined, 60_000)

  await xaddAll(ns.redis, ingress.scores, half)
  await waitUntil("the first half archived", async () => (await readArchiveMark(ns.redis, keys)) === lastOf(half), 120_000)
  await waitUntil("the ingress stream trimmed to its retention", () => trimmedTo(KEEP), 60_000)
  const first = routing() as RunningPartitioned
  const removedBefore = Number(await ns.redis.hget(routerKeys(ns.prefix).trims, "scores:removed"))
  expect(removedBefore).toBe(half.length - KEEP)

  // The router's holder stops: the other engine takes its lease and goes on from the mark.
  running.splice(running.indexOf(first), 1)
  await first.stop()
  const second = running[0] as RunningPartitioned
  await waitUntil("the other engine holds the router's lease", () => second.handles.router.lease.held() !== undefined, 60_000)
  await xaddAll(ns.redis, ingress.scores, input.slice(2_000))
  await waitUntil("everything archived", async () => (await readArchiveMark(ns.redis, keys)) === lastOf(input), 120_000)
  await waitUntil("the ingress stream trimmed to its retention again", () => trimmedTo(KEEP), 60_000)

  const rows = await allArchivedRows(store)
  expect(rows.map((r) => r.id)).toEqual(input.map((e) => e.id))
  expect(rows.map((r) => r.fields)).toEqual(input.map((e) => e.fields))
  // Marked dead: exactly the entries the router dead-lettered, with its reason and its first
  // letter. A batch the stopped router had not acknowledged is routed again by the other
  // engine, which may write its letters a second time (src/engine/router.ts); the first counts.
  const letters = (await ns.redis.xrange(ingress.scoresDead, "-", "+")).map(([id, f]) => ({ id, d: parseDeadLetter(f) }))
  expect(letters.length).toBeGreaterThan(50)
  const firstLetters = new Map<string, [string, string, string]>()
  for (const { id, d } of letters) if (d && !firstLetters.has(d.sourceId)) firstLetters.set(d.sourceId, [d.sourceId, d.reason, id])
  expect(rows.filter((r) => r.dead).map((r) => [r.id, r.deadReason, r.deadId]))
    .toEqual([...firstLetters.values()].sort((a, b) => compareEntryIds(a[0], b[0])))
  // The partitions' own copies are no archive's: the lake holds the ingress history only.
  expect(rows.length).toBe(input.length)

  // Across the trim point: archived entries first, then the ones still in the ingress stream.
  const oldest = (await ns.redis.xrange(ingress.scores, "-", "+", "COUNT", 1))[0]?.[0]
  expect(oldest).toBe((input[input.length - KEEP] as StreamEntry).id)
  const from = (input[1_500] as StreamEntry).id
  const to = (input[input.length - 5] as StreamEntry).id
  const want = input.slice(1_500, input.length - 4)
  expect(await collect(readHistory({ redis: ns.redis, store, scores: ingress.scores, keys, from, to, chunk: 7 }))).toEqual(want)
  // `strata record` reads the same history in the same install.
  expect(await recordedRange(ns, COUNT, from, to, "strata-partitioned-archive-")).toEqual(want)
}, 400_000)

it("an install grown from one partition archives on from partition 0's mark, its earlier archive kept whole", async () => {
  const grown = await testNamespace({ backfill: { enabled: false }, archive: { max_rows: 300 } })
  const lake = localObjectStore(grown.config.storage.lake)
  try {
    const ingress = ingressKeys(grown.prefix)
    const input = workloadArray({ events: 1_500, symbols: 30, seed: 11, start: Date.UTC(2026, 0, 8, 16, 59, 59, 500), stepMs: 1_000, badShare: 0.03 })
    const at = (i: number) => (input[i] as StreamEntry).id
    await xaddAll(grown.redis, ingress.scores, input)
    // One partition: its engine applied the first 1,000 entries, archived them and trimmed up to the mark.
    const one = { ...grown.config, partitions: 1 }
    await grown.redis.xgroup("CREATE", ingress.scores, GROUPS.engine, at(999))
    const first = new Lease(grown.redis, archiveKeys(grown.prefix, 1), 60_000)
    expect((await first.acquire()).held).toBe(true)
    expect((await archivePass(archiverDeps(one, { redis: grown.redis, store: lake, lease: first }))).mark).toBe(at(999))
    await first.release()
    await grown.redis.xtrim(ingress.scores, "MINID", at(1_000))
    // Grown to 4 partitions: the router has routed everything; its holder archives from partition 0's mark.
    const four = { ...grown.config, partitions: COUNT }
    await grown.redis.xgroup("CREATE", ingress.scores, GROUPS.router, at(input.length - 1))
    const keys = archiveKeys(grown.prefix, COUNT)
    expect(await readArchiveMark(grown.redis, keys)).toBe(at(999))
    const router = new Lease(grown.redis, routerKeys(grown.prefix), 60_000)
    expect((await router.acquire()).held).toBe(true)
    const report = await archivePass(archiverDeps(four, { redis: grown.redis, store: lake, lease: router }))
    expect([report.rows, report.mark]).toEqual([500, at(input.length - 1)])
    expect(await grown.redis.get(routerKeys(grown.prefix).scoresArchived)).toBe(at(input.length - 1))
    expect(await grown.redis.get(partitionKeys(grown.prefix, 0).scoresArchived)).toBe(at(999))
    const rows = await allArchivedRows(lake)
    expect(rows.map((r) => r.id)).toEqual(input.map((e) => e.id))
    expect(await collect(readHistory({ redis: grown.redis, store: lake, scores: ingress.scores, keys, from: at(900), chunk: 13 }))).toEqual(input.slice(900))
    await router.release()
  } finally {
    await lake.close()
    await grown.cleanup()
  }
}, 120_000)

it("`strata archive` archives what the router has routed, under the router's lease, and refuses beside its holder", async () => {
  const other = await testNamespace({ partitions: COUNT, backfill: { enabled: false }, lease: { ttl_ms: 1_500 } })
  const dir = mkdtempSync(join(tmpdir(), "strata-partitioned-archive-cli-"))
  try {
    const ingress = ingressKeys(other.prefix)
    const input = workloadArray({ events: 600, symbols: 20, seed: 5, start: Date.UTC(2026, 0, 8, 18), stepMs: 1_000 })
    await xaddAll(other.redis, ingress.scores, input)
    // Routed up to the 500th entry: the rest is not yet in any partition.
    await other.redis.xgroup("CREATE", ingress.scores, GROUPS.router, (input[499] as StreamEntry).id)
    const config = join(dir, "config.yaml")
    writeFileSync(config, JSON.stringify({ partitions: COUNT, lease: { ttl_ms: 1_500 } }))
    const env = { ...other.env, STRATA_CONFIG: config }
    const r = await runStrata(env, ["archive", "--once", "--json"])
    expect(r.code, r.err).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ rows: 500, mark: (input[499] as StreamEntry).id })
    expect(await other.redis.get(routerKeys(other.prefix).scoresArchived)).toBe((input[499] as StreamEntry).id)
    // A live router's holder (renewing its lease) archives itself: the command refuses to run beside it.
    const holder = new Lease(other.redis, routerKeys(other.prefix), 1_500)
    expect((await holder.acquire()).held).toBe(true)
    const renew = setInterval(() => { void holder.renew() }, 300)
    try {
      const refused = await runStrata(env, ["archive", "--once", "--json"])
      expect(refused.code).not.toBe(0)
      expect(refused.err).toContain("router's lease")
    } finally {
      clearInterval(renew)
      await holder.release()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await other.cleanup()
  }
}, 120_000)
