/**
 * What an operator sees of a partitioned install, two engines over 8 partitions fed
 * through the ingress stream: `strata status` names each partition's one owner and the
 * router, `/metrics` labels every partition's streams and leases, `/api/overview` and the
 * dashboard show the partitions' owners, `strata reconcile` finds no divergence over every
 * partition, `strata inspect` reads a symbol where its partition keeps it, and `strata
 * dead-letters` lists every partition's dead-letter streams.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { workloadArray } from "../../fixtures/workload.ts"
import { createLogger } from "../../src/services/logger.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { partitionsOf } from "../../src/engine/rendezvous.ts"
import { runStrata } from "../helpers/cli.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { installSettled, startPartitioned, type RunningPartitioned } from "../helpers/partitioned.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const COUNT = 8
const log = createLogger("test-partitioned-visibility", process.env["LOG_LEVEL"] ?? "silent")

type Running = RunningPartitioned
const start = (ns: TestNamespace): Promise<Running> => startPartitioned(ns, log)

let ns: TestNamespace
let engines: Running[] = []
let file: string
const strata = (...args: string[]) => runStrata(ns.env, [...args, "--config", file])

const input = workloadArray({ events: 2_000, symbols: 60, seed: 20261204, start: Date.UTC(2026, 0, 7, 15), stepMs: 1_000, badShare: 0.01 })
const symbols = [...new Set(input.map((e) => e.fields[e.fields.indexOf("symbol") + 1]!))]

beforeAll(async () => {
  ns = await testNamespace({
    partitions: COUNT, backfill: { enabled: false }, archive: { enabled: false },
    ingest: { block_ms: 100 }, lease: { ttl_ms: 6_000, join_debounce_ms: 300 }
  })
  // The CLI reads the install's partition count from its configuration file, as an operator's does.
  file = join(ns.config.data_dir, "strata.yaml")
  writeFileSync(file, `partitions: ${COUNT}\narchive:\n  enabled: false\n`)
  engines = [await start(ns), await start(ns)]
  // Settled on the rendezvous shares of both, so no partition moves while the tests read owners.
  await waitUntil("each engine holds exactly its rendezvous share", () => {
    const ids = engines.map((e) => e.handles.owner)
    return engines.every((e) => e.handles.runner.held().join() === partitionsOf(e.handles.owner, ids, COUNT).join())
  }, 60_000)
  await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, input)
  await waitUntil("the install settled", () => installSettled(ns, COUNT), 120_000)
  owners = Array.from({ length: COUNT }, (_, p) => engines.find((e) => e.handles.runner.held().includes(p))!.handles.owner)
  await waitUntil("one engine routes", () => engines.some((e) => e.handles.router.lease.held() !== undefined), 60_000)
  routerOwner = engines.find((e) => e.handles.router.lease.held() !== undefined)!.handles.owner
}, 300_000)

afterAll(async () => {
  for (const e of engines) await e.stop()
  await ns?.cleanup()
})

// Nothing moves once settled (the leases' TTL is long for a loaded machine): the holders are read once.
let owners: string[] = []
let routerOwner = ""
const ownerOf = (p: number): string => owners[p]!
const router = (): { handles: { owner: string } } => ({ handles: { owner: routerOwner } })

/** Prometheus text as series: name, labels, value. */
const series = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => {
  const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(l)!
  const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]))
  return { name: m[1]!, labels, value: Number(m[3]) }
})

const scrapeAll = async () => (await Promise.all(engines.map(async (e) => series(await (await fetch(`http://127.0.0.1:${e.handles.httpPort}/metrics`)).text())))).flat()

describe("a partitioned install, seen by an operator", { timeout: 120_000 }, () => {
  it("/metrics: each partition's streams and lease once over the engines, labelled by partition and owner; the router's ingress streams", async () => {
    const all = await scrapeAll()
    const ingress = ingressKeys(ns.prefix)
    for (let p = 0; p < COUNT; p++) {
      const keys = partitionKeys(ns.prefix, p, COUNT)
      const lengths = all.filter((x) => x.name === "strata_stream_length" && x.labels["stream"] === keys.scores)
      expect(lengths.map((x) => [x.labels["partition"], x.labels["owner"], x.value])).toEqual([[String(p), ownerOf(p), await ns.redis.xlen(keys.scores)]])
      const lag = all.filter((x) => x.name === "strata_group_backlog" && x.labels["stream"] === keys.scores && x.labels["group"] === "strata-engine")
      expect(lag.map((x) => [x.labels["partition"], x.value])).toEqual([[String(p), 0]])
      expect(all.filter((x) => x.name === "strata_stream_oldest_entry_age_seconds" && x.labels["stream"] === keys.lifecycle).map((x) => x.labels["partition"])).toEqual([String(p)])
      expect(all.filter((x) => x.name === "strata_dead_letters" && x.labels["stream"] === keys.backfillDead).map((x) => x.labels["partition"])).toEqual([String(p)])
      const epochs = all.filter((x) => x.name === "strata_partition_epoch" && x.labels["partition"] === String(p))
      expect(epochs.map((x) => x.labels["owner"])).toEqual([ownerOf(p)])
    }
    const routerLag = all.filter((x) => x.name === "strata_group_backlog" && x.labels["stream"] === ingress.scores)
    expect(routerLag.map((x) => [x.labels["group"], x.labels["owner"], x.labels["partition"], x.value])).toEqual([["strata-router", router().handles.owner, undefined, 0]])
    expect(all.filter((x) => x.name === "strata_stream_trimmed_entries_total" && x.labels["stream"] === ingress.scores).map((x) => x.labels["owner"])).toEqual([router().handles.owner])
    expect(all.filter((x) => x.name === "strata_router_epoch" && x.value > 0).map((x) => x.labels["owner"])).toEqual([router().handles.owner])
    expect(all.filter((x) => x.name === "strata_partitions").map((x) => x.value)).toEqual([COUNT, COUNT])
  })

  it("/api/overview and the dashboard of either engine show every partition's owner, the router and the install's figures", async () => {
    const e = engines[1]!
    const base = `http://127.0.0.1:${e.handles.httpPort}`
    const o = (await (await fetch(`${base}/api/overview`)).json()) as {
      actors: number
      partitions: { partition: number; lease: string | null; epoch: number | null; lag: number | null; consumer: string | null; streams: { name: string }[] }[]
      router: { owner: string | null; lag: number | null }
      members: { id: string }[]
      persisted: Record<string, number>
      backlog: Record<string, number | null>
    }
    expect(o.partitions.map((p) => [p.partition, p.lease, p.lag])).toEqual(Array.from({ length: COUNT }, (_, p) => [p, ownerOf(p), 0]))
    expect(o.partitions.every((p) => p.epoch !== null && p.consumer !== null && p.streams.length === 7)).toBe(true)
    expect(o.partitions.every((p) => p.streams.some((x) => x.name === "scores_direct"))).toBe(true)
    expect(o.router).toMatchObject({ owner: router().handles.owner, lag: 0 })
    expect(o.members.map((m) => m.id).sort()).toEqual(engines.map((x) => x.handles.owner).sort())
    expect(o.actors).toBe(symbols.length)
    // Every entry the router did not dead-letter reached a partition.
    expect(o.persisted["entries"]).toBe(input.length - (await ns.redis.xlen(ingressKeys(ns.prefix).scoresDead)))
    expect(o.backlog[`${ingressKeys(ns.prefix).scores} (strata-router)`]).toBe(0)
    // The page and its script are served by a partitioned engine too, and the script draws the owners.
    expect((await fetch(`${base}/`)).status).toBe(200)
    expect(await (await fetch(`${base}/dashboard/app.js`)).text()).toContain("o.router")
    // A symbol lookup reads the symbol's own partition.
    const symbol = symbols.find((x) => symbolPartition(x, COUNT) !== 0)!
    const looked = (await (await fetch(`${base}/api/symbol?symbol=${symbol}`)).json()) as { known: boolean; actorLayer: number | null }
    expect(looked.known).toBe(true)
  })

  it("strata status names each partition's one owner, its epoch and lag, the router and the members", async () => {
    const r = await strata("status", "--json")
    expect(r.code, r.err).toBe(0)
    const s = JSON.parse(r.out) as {
      count: number
      members: { id: string }[]
      router: { owner: string | null; epoch: number | null; lag: number | null; streams: { key: string }[] }
      partitions: { partition: number; owner: string | null; epoch: number | null; lag: number | null; streams: { name: string; key: string; length: number }[] }[]
      dead: { streams: { key: string; length: number }[] }
    }
    expect(s.count).toBe(COUNT)
    expect(s.members.map((m) => m.id).sort()).toEqual(engines.map((e) => e.handles.owner).sort())
    expect(s.router).toMatchObject({ owner: router().handles.owner, lag: 0 })
    expect(s.router.epoch).toBeGreaterThan(0)
    expect(s.router.streams.map((x) => x.key)).toEqual([ingressKeys(ns.prefix).scores, ingressKeys(ns.prefix).scoresDead])
    expect(s.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    for (const p of s.partitions) {
      const keys = partitionKeys(ns.prefix, p.partition, COUNT)
      expect(p.owner).toBe(ownerOf(p.partition))
      expect(p.epoch).toBe(Number(engines.flatMap((e) => e.handles.runner.running()).find((x) => x.partition === p.partition)!.lease.epoch))
      expect(p.lag).toBe(0)
      expect(p.streams.find((x) => x.name === "scores")).toMatchObject({ key: keys.scores, length: await ns.redis.xlen(keys.scores) })
    }
    expect(s.dead.streams.find((d) => d.key === ingressKeys(ns.prefix).scoresDead)?.length).toBeGreaterThan(0)

    const text = await strata("status")
    expect(text.code, text.err).toBe(0)
    expect(text.out).toContain(`router  owner ${router().handles.owner}`)
    for (let p = 0; p < COUNT; p++) expect(text.out).toMatch(new RegExp(`^  ${p}  owner ${ownerOf(p).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}  epoch \\d+`, "m"))
  })

  it("strata reconcile covers every partition and finds no divergence", async () => {
    const r = await strata("reconcile", "--wait", "--timeout", "60", "--json")
    expect(r.code, r.out + r.err).toBe(0)
    const report = JSON.parse(r.out) as { actors: number; companies: number; divergent: unknown[]; partitions: { partition: number; actors: number }[] }
    expect(report.actors).toBe(symbols.length)
    expect(report.divergent).toEqual([])
    expect(report.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    // Some partitions hold qualified symbols, so the projection is not trivially empty.
    expect(report.companies).toBeGreaterThan(0)
    expect((await ns.sql`SELECT symbol FROM companies`).some((c) => symbolPartition(String(c["symbol"]), COUNT) !== 0)).toBe(true)
  })

  it("strata inspect reads a symbol in its own partition", async () => {
    const symbol = symbols.find((s) => symbolPartition(s, COUNT) !== 0)!
    const partition = symbolPartition(symbol, COUNT)
    const r = await strata("inspect", symbol, "--json")
    expect(r.code, r.err).toBe(0)
    const report = JSON.parse(r.out) as { partition: number; actor: { layer: number } | null }
    expect(report.partition).toBe(partition)
    expect(report.actor).not.toBeNull()
    const text = await strata("inspect", symbol)
    expect(text.out).toContain(`${symbol}  partition ${partition} of ${COUNT}`)
  })

  it("strata dead-letters lists every partition's dead-letter streams", async () => {
    // An entry no lifecycle decoder reads, in partition 5's lifecycle stream: its projector dead-letters it there.
    const keys = partitionKeys(ns.prefix, 5, COUNT)
    await ns.redis.xadd(keys.lifecycle, "*", "type", "Bogus", "symbol", "ZZZ")
    await waitUntil("partition 5's projector dead-lettered the entry", async () => (await ns.redis.xlen(keys.lifecycleDead)) === 1, 60_000)
    const r = await strata("dead-letters", "list", "--json")
    expect(r.code, r.err).toBe(0)
    const listed = JSON.parse(r.out) as { lengths: Record<string, number>; streams: { stream: string; length: number }[]; entries: { source: string; stream: string }[] }
    expect(listed.lengths["lifecycle"]).toBe(1)
    expect(listed.lengths["scores"]).toBe(await ns.redis.xlen(ingressKeys(ns.prefix).scoresDead))
    expect(listed.streams.map((x) => x.stream)).toContain(partitionKeys(ns.prefix, 7, COUNT).backfillDead)
    expect(listed.entries.filter((e) => e.source === "lifecycle").map((e) => e.stream)).toEqual([keys.lifecycleDead])
  })
})
