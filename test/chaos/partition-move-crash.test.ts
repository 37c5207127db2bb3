/**
 * Crash test of `strata partitions migrate`: the move of an install of one partition (a
 * real engine's snapshots and backfill commands) to 4 partitions is killed with SIGKILL
 * again and again, at seeded instants (after a seeded amount of its work, or at a random
 * moment of the run, start-up included), then run until it finishes. After every kill
 * each symbol's snapshot is in partition 0 or its partition under 4 (in both only with
 * the same value), every backfill command likewise, and engines refuse to start; at the
 * end every snapshot and command is in exactly one place, its partition's (commands the
 * workers had read stay in partition 0), and the router starts where the engine stopped.
 */
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { prng, workloadArray } from "../../fixtures/workload.ts"
import { checkInstall, readInstallRecord } from "../../streams/install-record.ts"
import { groupsOf } from "../../streams/consumer.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { runEngine, waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { oneSettled } from "../helpers/partition-move.ts"
import { killRuns } from "../helpers/processes.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import { spawn } from "node:child_process"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TO = 4
const KILLS = 8
const CHILD = ["--import", "tsx", "test/helpers/partition-move-child.ts"]

describe("moving an install to more partitions, killed at any instant", () => {
  let ns: TestNamespace
  let snapshots: Record<string, string>
  let backfill: [string, string[]][]
  let readUpTo: string
  let engineAt: string

  const keys = (p: number) => partitionKeys(ns.prefix, p, TO)
  const symbolOf = (fields: string[]) => fields[fields.indexOf("symbol") + 1] as string
  const commandHome = (id: string, fields: string[]) => {
    const [ms, seq] = id.split("-").map(Number) as [number, number]
    const [rm, rs] = readUpTo.split("-").map(Number) as [number, number]
    const read = ms < rm || (ms === rm && seq <= rs)
    return read ? 0 : symbolPartition(symbolOf(fields), TO)
  }

  beforeAll(async () => {
    ns = await testNamespace({ backfill: { enabled: false }, archive: { enabled: false }, ingest: { block_ms: 200 } })
    const entries = workloadArray({ events: 8_000, symbols: 3_000, seed: 20261203, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, badShare: 0.005 })
    const engine = await runEngine(ns.config)
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries)
    await waitUntil("the engine settled", () => oneSettled(ns), 180_000)
    await engine.stop()
    snapshots = await ns.redis.hgetall(keys(0).snapshots)
    backfill = await ns.redis.xrange(keys(0).backfill, "-", "+")
    // The workers read the first third: those commands are partition 0's history and stay.
    readUpTo = backfill[Math.floor(backfill.length / 3)]![0]
    await ns.redis.xgroup("CREATE", keys(0).backfill, GROUPS.workers, readUpTo)
    engineAt = (await groupsOf(ns.redis, ingressKeys(ns.prefix).scores)).find((g) => g.name === GROUPS.engine)!.lastDeliveredId
  }, 300_000)
  afterAll(async () => {
    await ns?.cleanup()
  })

  /** Work done so far: it only grows while the move runs. */
  const progress = async () => {
    let n = Object.keys(snapshots).length - (await ns.redis.hlen(keys(0).snapshots))
    for (let p = 1; p < TO; p++) n += (await ns.redis.hlen(keys(p).snapshots)) + (await ns.redis.xlen(keys(p).backfill))
    return n
  }

  /** Nothing lost, nothing different: each snapshot and command is where it was or where it goes. */
  const nothingLost = async () => {
    const at = await Promise.all(Array.from({ length: TO }, (_, p) => ns.redis.hgetall(keys(p).snapshots)))
    for (const [symbol, json] of Object.entries(snapshots)) {
      const home = symbolPartition(symbol, TO)
      const found = [0, home].filter((p, i, all) => all.indexOf(p) === i && at[p]![symbol] !== undefined)
      expect(found.length, symbol).toBeGreaterThan(0)
      for (const p of found) expect(at[p]![symbol], symbol).toBe(json)
      for (let p = 0; p < TO; p++) if (p !== 0 && p !== home) expect(at[p]![symbol], symbol).toBeUndefined()
    }
    const streams = await Promise.all(Array.from({ length: TO }, (_, p) => ns.redis.xrange(keys(p).backfill, "-", "+")))
    const where = new Map<string, number[]>()
    streams.forEach((s, p) => s.forEach(([id, fields]) => {
      expect(fields).toEqual(backfill.find(([i]) => i === id)?.[1])
      where.set(id, [...(where.get(id) ?? []), p])
    }))
    for (const [id, fields] of backfill) {
      const places = where.get(id) ?? []
      expect(places.length, id).toBeGreaterThan(0)
      expect(places.every((p) => p === 0 || p === commandHome(id, fields)), id).toBe(true)
    }
    expect(where.size).toBe(backfill.length)
  }

  it(`loses and doubles nothing through ${KILLS} kill -9 of the move`, async () => {
    expect(Object.keys(snapshots).length).toBeGreaterThan(1_000)
    expect(backfill.length).toBeGreaterThan(30)
    const env = { ...ns.env, MOVE_TO: String(TO), MOVE_PAGE: "7" }
    const runs = await killRuns({
      args: CHILD, cwd: ROOT, env, kills: KILLS, progress, rand: prng(8_675), step: 400,
      afterKill: async () => {
        await nothingLost()
        // Killed before the mark, during the move (every engine refuses), or after the end.
        const record = await readInstallRecord(ns.redis, ns.prefix)
        expect([undefined, TO]).toContain(record.migrating)
        if (record.migrating !== undefined) expect(await checkInstall(ns.redis, ns.prefix, 1)).toContain("under way")
      }
    })
    console.info(`partition move crash test: ${runs.kills} kills, ${runs.midway} after some of the work`)
    expect(runs.kills).toBeGreaterThan(0)
    expect(runs.midway).toBeGreaterThan(0)
    // Run to the end.
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, CHILD, { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] })
      child.once("exit", (c) => resolve(c))
    })
    expect(code).toBe(0)

    expect(await readInstallRecord(ns.redis, ns.prefix)).toEqual({ partitions: TO, migrating: undefined })
    await nothingLost()
    const at = await Promise.all(Array.from({ length: TO }, (_, p) => ns.redis.hgetall(keys(p).snapshots)))
    for (const [symbol, json] of Object.entries(snapshots)) {
      const home = symbolPartition(symbol, TO)
      at.forEach((snaps, p) => expect(snaps[symbol], `${symbol} in ${p}`).toBe(p === home ? json : undefined))
    }
    for (let p = 0; p < TO; p++) {
      for (const [id, fields] of await ns.redis.xrange(keys(p).backfill, "-", "+")) expect(commandHome(id, fields), id).toBe(p)
    }
    const groups = await groupsOf(ns.redis, ingressKeys(ns.prefix).scores)
    expect(groups.map((g) => g.name)).toEqual([GROUPS.router])
    expect(groups[0]!.lastDeliveredId).toBe(engineAt)
    const time = await ns.redis.get(keys(0).streamTime)
    for (let p = 1; p < TO; p++) expect(await ns.redis.get(keys(p).streamTime)).toBe(time)
  }, 900_000)
})
