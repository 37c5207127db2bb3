/**
 * Backfill workers of an install of several partitions, against the Polygon-shaped
 * server: commands on many partitions' streams are each run exactly once by two fibers,
 * storing what one partition stores; a command is judged by its own partition's snapshot;
 * one found on another partition's stream is dead-lettered there; and a full partition
 * does not hold back a command on another (one fiber takes the head of every partition's
 * stream within `partitions` takes).
 */
import { checkInstall } from "../../streams/install-record.ts"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import type { DataType } from "../../config/schema.ts"
import { commandFields, decodeCommand, MANUAL_CAUSE, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { parseDeadLetter } from "../../streams/backfill-dead-letter.ts"
import { groupsOf } from "../../streams/consumer.ts"
import { readRange } from "../../streams/stream-read.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { registerCommands } from "../../src/backfill/progress.ts"
import { WRONG_PARTITION_REASON } from "../../src/backfill/worker.ts"
import { openObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { expectedRows, runWorkers, storedRows, waitForFinished, writeConfigFile } from "../helpers/backfill-fixture.ts"
import { runStrata } from "../helpers/cli.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { startPolygonServer, type PolygonServer } from "../helpers/polygon-server.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1) // a Wednesday
const TYPES: DataType[] = ["market_data", "news"]
const RETENTION = {
  L0: { market_data: { hot_days: 0, cold_days: 0, intervals: ["1day"] }, news: { hot_days: 0, cold_days: 0 } },
  L2: { market_data: { hot_days: 2, cold_days: 4, intervals: ["1day"] }, news: { hot_days: 2, cold_days: 4 } }
}
const SERIES = [["bars", "1day"], ["news", ""]] as const
const PARTITIONS = 8

/** Symbols S0, S1, … with their partitions of PARTITIONS (the hash is fixed: so is this list). */
const symbolsIn = (want: (p: number) => boolean, n: number): string[] => {
  const out: string[] = []
  for (let i = 0; out.length < n; i++) if (want(symbolPartition(`S${i}`, PARTITIONS))) out.push(`S${i}`)
  return out
}

interface Install {
  readonly ns: TestNamespace
  /** The config the namespace was made with, as a file for a child process. */
  readonly configFile: string
  readonly server: PolygonServer
  readonly store: ObjectStore
  readonly dir: string
  workers?: { stop: () => Promise<void> }
}

describe("backfill workers over every partition", () => {
  const installs: Install[] = []
  afterEach(async () => {
    for (const i of installs.splice(0)) {
      await i.workers?.stop()
      await i.store.close()
      await i.server.close()
      await i.ns.cleanup()
      rmSync(i.dir, { recursive: true, force: true })
    }
  })

  const install = async (partitions: number, workers: number): Promise<Install> => {
    const dir = mkdtempSync(join(tmpdir(), "strata-bfp-"))
    const server = await startPolygonServer()
    const overrides = {
      partitions,
      retention: RETENTION,
      storage: { lake: join(dir, "lake") },
      backfill: { workers, provider: "polygon", block_ms: 100 },
      providers: { polygon: { base_url: server.url, rate_limit: { requests_per_second: 0, max_concurrent: 0 } } }
    }
    const ns = await testNamespace(overrides)
    // Recorded as its first engine would record it, before a test seeds partition 0's state:
    // seeded state with no record would read as an install of one partition.
    expect(await checkInstall(ns.redis, ns.prefix, partitions)).toBeUndefined()
    const i: Install = { ns, server, dir, configFile: writeConfigFile(dir, overrides), store: openObjectStore(ns.config.storage) }
    installs.push(i)
    return i
  }
  const start = async (i: Install) => {
    i.workers = await runWorkers(i.ns.config, i.ns, { POLYGON_API_KEY: i.server.apiKey })
  }

  const command = (id: string, symbol: string, cause = MANUAL_CAUSE): BackfillCommand =>
    ({ id, symbol, layer: 2, from: 0, dataTypes: TYPES, at: AT, cause, priority: 2 })
  /** Publish to `partition`'s stream of the install (its symbol's partition unless told). */
  const publish = (i: Install, c: BackfillCommand, partition = symbolPartition(c.symbol, i.ns.config.partitions)) =>
    i.ns.redis.xadd(partitionKeys(i.ns.prefix, partition, i.ns.config.partitions).backfill, "*", ...commandFields(c))

  const progress = (i: Install) => i.ns.sql<{ command_id: string; status: string; deliveries: number }[]>`
    SELECT command_id, status, deliveries FROM backfill_progress ORDER BY command_id`
  const storedOf = async (i: Install, symbols: readonly string[]) => {
    const out: Record<string, unknown> = {}
    for (const s of symbols) for (const [kind, interval] of SERIES) out[`${s} ${kind} ${interval}`] = await storedRows(i.ns.sql, i.store, kind, s, interval)
    return out
  }
  /** The logical requests served (path and query without the paging cursor), sorted. */
  const requests = (i: Install) => i.server.log.filter((r) => r.status === 200).map((r) => r.key).sort()

  it("runs every command of every partition exactly once with two fibers, storing what one partition stores", async () => {
    const symbols = symbolsIn(() => true, 12)
    const used = new Set(symbols.map((s) => symbolPartition(s, PARTITIONS)))
    expect(used.size).toBeGreaterThanOrEqual(5)

    const many = await install(PARTITIONS, 2)
    await start(many)
    for (const [k, s] of symbols.entries()) await publish(many, command(`bf-${k}`, s))
    await waitForFinished(many.ns.sql, symbols.length)
    // Done once each: first delivery, nothing pending or unread on any partition, no dead letter.
    expect(await progress(many)).toEqual(symbols.map((_, k) => ({ command_id: `bf-${k}`, status: "done", deliveries: 1 })).sort((a, b) => a.command_id < b.command_id ? -1 : 1))
    for (let p = 0; p < PARTITIONS; p++) {
      const keys = partitionKeys(many.ns.prefix, p, PARTITIONS)
      const groups = await groupsOf(many.ns.redis, keys.backfill)
      expect(groups.find((g) => g.name === GROUPS.workers), `partition ${p}`).toMatchObject({ pending: 0, lag: 0 })
      expect(await many.ns.redis.xlen(keys.backfillDead), `partition ${p} dead letters`).toBe(0)
    }
    const asked = requests(many)
    expect(new Set(asked).size).toBe(asked.length)

    const one = await install(1, 2)
    await start(one)
    for (const [k, s] of symbols.entries()) await publish(one, command(`bf-${k}`, s))
    await waitForFinished(one.ns.sql, symbols.length)
    expect(await progress(one)).toEqual(await progress(many))
    expect(requests(many)).toEqual(requests(one))
    const stored = await storedOf(many, symbols)
    expect(stored).toEqual(await storedOf(one, symbols))
    for (const s of symbols) {
      for (const series of expectedRows(many.ns.config.retention, 2, TYPES, AT, s, 42)) {
        expect(stored[`${s} ${series.kind} ${series.interval}`], `${s} ${series.kind}`).toEqual(series)
      }
    }
  })

  it("reads a symbol's layer from its own partition's snapshots", async () => {
    const i = await install(PARTITIONS, 1)
    const [demoted, kept] = symbolsIn((p) => p !== 0, 2) as [string, string]
    const snapshots = (s: string) => partitionKeys(i.ns.prefix, symbolPartition(s, PARTITIONS), PARTITIONS).snapshots
    const l0 = JSON.stringify({ layer: 0, context: {} })
    // The demoted symbol's own partition says L0; partition 0's hash saying L0 for another symbol is not its snapshot.
    await i.ns.redis.hset(snapshots(demoted), demoted, l0)
    await i.ns.redis.hset(partitionKeys(i.ns.prefix, 0, PARTITIONS).snapshots, kept, l0)
    await start(i)
    await publish(i, command("bf-demoted", demoted, "1767798000000-0"))
    await publish(i, command("bf-kept", kept, "1767798000000-1"))
    await waitForFinished(i.ns.sql, 2)
    expect((await progress(i)).map((r) => [r.command_id, r.status])).toEqual([["bf-demoted", "cancelled"], ["bf-kept", "done"]])
  })

  it("dead-letters a command found on another partition's stream, and goes on", async () => {
    const i = await install(PARTITIONS, 1)
    const [symbol] = symbolsIn((p) => p === 3, 1) as [string]
    await start(i)
    // Registered as `strata backfill` registers what it issues: its progress row must not stay queued.
    await registerCommands(i.ns.sql, [command("bf-stray", symbol)])
    await publish(i, command("bf-stray", symbol), 5)
    await publish(i, command("bf-right", symbol))
    await waitForFinished(i.ns.sql, 2)
    expect((await progress(i)).map((r) => [r.command_id, r.status])).toEqual([["bf-right", "done"], ["bf-stray", "dead"]])
    const five = partitionKeys(i.ns.prefix, 5, PARTITIONS)
    await waitUntil("the dead letter", async () => (await i.ns.redis.xlen(five.backfillDead)) === 1)
    const [entry] = await readRange(i.ns.redis, five.backfillDead, "-", "+")
    const letter = parseDeadLetter(entry!.fields)
    expect(letter?.reason).toBe(WRONG_PARTITION_REASON)
    expect(letter?.error).toContain(`partition 3 of ${PARTITIONS}`)
    expect(letter?.original["id"]).toBe("bf-stray")
    expect((await groupsOf(i.ns.redis, five.backfill)).find((g) => g.name === GROUPS.workers)?.pending).toBe(0)
    expect(await i.ns.redis.xlen(partitionKeys(i.ns.prefix, 3, PARTITIONS).backfillDead)).toBe(0)
  })

  it("fails a command removed from its partition's stream, not another partition's command with the same entry ID", async () => {
    const i = await install(PARTITIONS, 1)
    const [gone] = symbolsIn((p) => p === 2, 1) as [string]
    const [kept] = symbolsIn((p) => p === 4, 1) as [string]
    const two = partitionKeys(i.ns.prefix, 2, PARTITIONS)
    const four = partitionKeys(i.ns.prefix, 4, PARTITIONS)
    // Entry IDs are per stream: both commands go out as 5-1, each on its own partition's stream.
    await i.ns.redis.xadd(two.backfill, "5-1", ...commandFields(command("bf-gone", gone)))
    await i.ns.redis.xadd(four.backfill, "5-1", ...commandFields(command("bf-kept", kept)))
    // The kept one is in the hands of another live consumer; the gone one is deleted unread.
    await i.ns.redis.xgroup("CREATE", four.backfill, GROUPS.workers, "0")
    await i.ns.redis.xreadgroup("GROUP", GROUPS.workers, "elsewhere", "COUNT", 1, "STREAMS", four.backfill, ">")
    await i.ns.redis.xdel(two.backfill, "5-1")
    await start(i)
    await registerCommands(i.ns.sql, [command("bf-gone", gone), command("bf-kept", kept)])
    await i.ns.sql`UPDATE backfill_progress SET entry_id = '5-1'`
    // The sweep runs once per claim_idle_ms; restart the workers to sweep at once.
    await i.workers?.stop()
    await start(i)
    await waitForFinished(i.ns.sql, 1)
    expect((await progress(i)).map((r) => [r.command_id, r.status])).toEqual([["bf-gone", "dead"], ["bf-kept", "queued"]])
    expect(await i.ns.redis.xlen(two.backfillDead)).toBe(1)
    expect(await i.ns.redis.xlen(four.backfillDead)).toBe(0)
  })

  it("`strata backfill` writes each command to its symbol's partition's stream, at the layer of its own snapshot", async () => {
    const i = await install(PARTITIONS, 2)
    const symbols = symbolsIn((p) => p !== 0, 3)
    const [promoted] = symbols as [string]
    const partitionOf = (s: string) => symbolPartition(s, PARTITIONS)
    await i.ns.redis.hset(partitionKeys(i.ns.prefix, partitionOf(promoted), PARTITIONS).snapshots, promoted, JSON.stringify({ layer: 2, context: {} }))
    const r = await runStrata({ ...i.ns.env, STRATA_CONFIG: i.configFile }, ["backfill", "--symbols", symbols.join(","), "--data-types", "market_data", "--at", String(AT), "--no-wait", "--json"])
    expect(r.code, r.err).toBe(0)
    const found = new Map<string, { partition: number; layer: number }>()
    for (let p = 0; p < PARTITIONS; p++) {
      for (const e of await readRange(i.ns.redis, partitionKeys(i.ns.prefix, p, PARTITIONS).backfill, "-", "+")) {
        const c = decodeCommand(e.fields)
        if (typeof c !== "string") found.set(c.symbol, { partition: p, layer: c.layer })
      }
    }
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(symbols.map((s) => [s, { partition: partitionOf(s), layer: s === promoted ? 2 : 1 }])))
    await start(i)
    await waitForFinished(i.ns.sql, symbols.length)
    expect((await progress(i)).map((p) => p.status)).toEqual(symbols.map(() => "done"))
  })

  it("takes a command on a quiet partition within one round of takes while another partition is full", async () => {
    const i = await install(PARTITIONS, 1)
    const [busy] = symbolsIn((p) => p === 0, 1) as [string]
    const [lone] = symbolsIn((p) => p !== 0, 1) as [string]
    const BUSY = 30
    for (let k = 0; k < BUSY; k++) await publish(i, command(`bf-busy-${String(k).padStart(2, "0")}`, busy))
    await publish(i, command("bf-lone", lone))
    await start(i)
    await waitForFinished(i.ns.sql, BUSY + 1, 120_000)
    const [{ before }] = await i.ns.sql<{ before: number }[]>`
      SELECT count(*)::int AS before FROM backfill_progress
      WHERE command_id LIKE 'bf-busy-%' AND finished_at < (SELECT finished_at FROM backfill_progress WHERE command_id = 'bf-lone')` as unknown as [{ before: number }]
    // One fiber visits every partition per take: the lone command is among its first PARTITIONS takes.
    expect(before).toBeLessThan(PARTITIONS)
  }, 180_000)
})
