/**
 * The scanner archive of a partitioned install whose producers write half the symbols
 * straight into their partitions' direct streams: each partition's holder archives its
 * direct stream into its own tree (`scores/direct/<P>/`) and trims it up to its mark, while
 * the router's holder does the same for the ingress stream; halfway the engine hands every
 * partition over to a second one, whose holders go on from the marks. At the end each
 * direct stream's tree holds every one of its entries exactly once (IDs and fields compared,
 * stream by stream), dead-lettered ones marked with the partition's reason, each direct
 * stream is down to its retention, and the history (both archives + both kinds of stream)
 * over a range straddling the trim points reads without a gap or a duplicate, as does
 * `strata record`.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { workloadArray } from "../../fixtures/workload.ts"
import { partitionView } from "../../src/engine/install-view.ts"
import { installHistory, readHistory } from "../../src/replay/history.ts"
import { createLogger } from "../../src/services/logger.ts"
import { localObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { archiveKeys, directArchiveKeys, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { redisTimeMs } from "../../streams/trim.ts"
import { allArchivedRows, archivingPartitions, collect, recordedRange } from "../helpers/archive.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { splitByPath, startPartitioned, type RunningPartitioned } from "../helpers/partitioned.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const COUNT = 4
const KEEP = 20
const OVERRIDES = archivingPartitions(COUNT, KEEP, 300)
const log = createLogger("test-direct-archive", process.env["LOG_LEVEL"] ?? "silent")

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

it("archives every direct entry exactly once per stream, trims the direct streams to their marks, and reads the history across the trim points", async () => {
  const input = workloadArray({ events: 4_000, symbols: 60, seed: 20261203, start: Date.UTC(2026, 0, 10, 9, 59, 59), stepMs: 1_000, badShare: 0.03 })
  const direct = (s: string) => s.charCodeAt(s.length - 1) % 2 === 0
  const first = splitByPath(ns.prefix, COUNT, input.slice(0, 2_000), direct)
  const second = splitByPath(ns.prefix, COUNT, input.slice(2_000), direct)
  const ingress = ingressKeys(ns.prefix)
  const parts = Array.from({ length: COUNT }, (_, p) => partitionKeys(ns.prefix, p, COUNT))
  const feed = async (half: typeof first) => {
    await xaddAll(ns.redis, ingress.scores, half.viaIngress)
    for (const [key, entries] of half.viaDirect) await xaddAll(ns.redis, key, entries)
  }
  const directOf = (p: number) => [...first.viaDirect.get(parts[p]!.scoresDirect) ?? [], ...second.viaDirect.get(parts[p]!.scoresDirect) ?? []]
  for (let p = 0; p < COUNT; p++) expect(directOf(p).length, `partition ${p} gets direct entries`).toBeGreaterThan(100)
  const marksAt = async (want: (p: number) => string | undefined) => {
    for (let p = 0; p < COUNT; p++) {
      if ((await readArchiveMark(ns.redis, directArchiveKeys(ns.prefix, p, COUNT))) !== want(p)) return false
    }
    return true
  }
  const lastDirect = (half: typeof first, p: number) => half.viaDirect.get(parts[p]!.scoresDirect)?.at(-1)?.id

  const one = await startPartitioned(ns, log)
  running.push(one)
  await waitUntil("the first engine holds every partition", () => one.handles.runner.held().length === COUNT, 60_000)
  await feed(first)
  await waitUntil("the first half of every direct stream archived", () => marksAt((p) => lastDirect(first, p)), 120_000)

  // A second engine starts and the first stops: every partition moves, and its new holder archives on from its mark.
  const two = await startPartitioned(ns, log)
  running.push(two)
  running.splice(running.indexOf(one), 1)
  await one.stop()
  await waitUntil("the second engine holds every partition", () => two.handles.runner.held().length === COUNT, 60_000)
  await feed(second)
  // A direct entry for a symbol of another partition: dead-lettered by the partition's engine.
  const stray = input.map((e) => e.fields[e.fields.indexOf("symbol") + 1] ?? "").find((s) => /^[A-Z]/.test(s) && symbolPartition(s, COUNT) !== 0) as string
  const strayId = (await ns.redis.xadd(parts[0]!.scoresDirect, "*", ...scoresFields(stray, { liquidity_score: 0.5 }))) as string
  const wantDirect = (p: number) => [...directOf(p), ...(p === 0 ? [{ id: strayId, fields: scoresFields(stray, { liquidity_score: 0.5 }) }] : [])]
  await waitUntil("every direct stream archived", () => marksAt((p) => wantDirect(p).at(-1)?.id), 120_000)
  await waitUntil("the ingress stream archived", async () => (await readArchiveMark(ns.redis, archiveKeys(ns.prefix, COUNT))) === second.viaIngress.at(-1)?.id, 120_000)
  await waitUntil("every direct stream trimmed to its retention", async () => {
    for (const k of parts) if ((await ns.redis.xlen(k.scoresDirect)) !== KEEP) return false
    return true
  }, 60_000)

  for (let p = 0; p < COUNT; p++) {
    // Shown as every archived stream's lag is: nothing of the direct stream left to archive.
    const view = await partitionView(ns.redis, ns.config, p, await redisTimeMs(ns.redis))
    expect(view.streams.find((f) => f.key === parts[p]!.scoresDirect)).toMatchObject({ name: "scores_direct", archiveLag: 0 })
    const rows = await allArchivedRows(store, p)
    const want = wantDirect(p)
    expect(rows.map((r) => r.id), `partition ${p}'s direct archive`).toEqual(want.map((e) => e.id))
    expect(rows.map((r) => r.fields)).toEqual(want.map((e) => e.fields))
    expect(new Set(rows.map((r) => r.stream))).toEqual(new Set([parts[p]!.scoresDirect]))
    // Marked dead: exactly the direct entries the partition's engine dead-lettered, with its reason and letter.
    const directIds = new Set(want.map((e) => e.id))
    const letters = (await ns.redis.xrange(parts[p]!.scoresDead, "-", "+")).map(([id, f]) => ({ id, d: parseDeadLetter(f) }))
      .filter(({ d }) => d !== undefined && directIds.has(d.sourceId))
    expect(rows.filter((r) => r.dead).map((r) => [r.id, r.deadReason, r.deadId])).toEqual(letters.map(({ id, d }) => [d?.sourceId, d?.reason, id]))
    expect(rows.filter((r) => r.dead).length).toBeGreaterThan(0)
  }
  expect((await allArchivedRows(store, 0)).find((r) => r.id === strayId)).toMatchObject({ dead: true, deadReason: expect.stringMatching(/^wrong partition/) })
  // The ingress archive holds the ingress entries only.
  expect((await allArchivedRows(store)).map((r) => r.id)).toEqual([...first.viaIngress, ...second.viaIngress].map((e) => e.id))

  // Across the trim points of every stream: archived entries first, then what is left in Redis, merged by ID.
  const from = (input[1_500] as StreamEntry).id
  const to = (input[input.length - 5] as StreamEntry).id
  const want = input.slice(1_500, input.length - 4)
  const history = installHistory(ns.prefix, COUNT)
  expect(await collect(readHistory({ redis: ns.redis, store, ...history, from, to, chunk: 7 }))).toEqual(want)
  expect(await recordedRange(ns, COUNT, from, to, "strata-direct-archive-")).toEqual(want)
}, 400_000)
