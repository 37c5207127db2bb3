/**
 * The engine trims on its schedule while it runs, bounded by its own group and by a
 * user's group with entries still pending, and the figures show up where operators look:
 * `/api/overview`, `/metrics`, `strata status --json` and `strata trim --dry-run`.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { GROUPS } from "../../streams/keys.ts"
import { runStrata } from "../helpers/cli.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

let ns: TestNamespace
let engine: RunningEngine | undefined
afterEach(async () => {
  await engine?.stop()
  engine = undefined
  await ns.cleanup()
})

const USER = "user-tool"

describe("the engine's trimming", () => {
  it("trims scores up to what every group is done with, keeps keep.count, and reports it", async () => {
    ns = await testNamespace({
      ...ENGINE_ONLY,
      streams: { trim: { enabled: true, every: "200ms" }, scores: { keep: { age: "0s", count: 5 } } },
      archive: { enabled: false }
    })
    const scores = `${ns.prefix}:scores`
    await ns.redis.xgroup("CREATE", scores, USER, "0", "MKSTREAM")
    // One millisecond apart: keep.age 0s keeps the newest entry's millisecond, and IDs from
    // "*" on a fast machine can put far more than keep.count entries in it.
    const t0 = Date.now() - 60_000
    const ids: string[] = []
    for (let i = 0; i < 50; i++) ids.push((await ns.redis.xadd(scores, `${t0 + i}-0`, "symbol", `S${i % 7}`, "liquidity", "0.9")) as string)
    // The user's tool has read 20 entries and acknowledged the first 15.
    await ns.redis.xreadgroup("GROUP", USER, "tool", "COUNT", 20, "STREAMS", scores, ">")
    await ns.redis.xack(scores, USER, ...ids.slice(0, 15))

    engine = await runEngine(ns.config)
    const groupDone = async () => {
      const rows = (await ns.redis.xinfo("GROUPS", scores)) as unknown[][]
      const g = rows.map((r) => Object.fromEntries(Array.from({ length: r.length / 2 }, (_, i) => [String(r[2 * i]), r[2 * i + 1]])))
        .find((x) => x["name"] === GROUPS.engine)
      return g !== undefined && g["last-delivered-id"] === ids[49] && Number(g["pending"]) === 0
    }
    await waitUntil("the engine to apply every entry", groupDone, 90_000)
    // Held by the user's oldest pending entry (the 16th).
    await waitUntil("a trim up to the user's pending entries", async () => (await ns.redis.xlen(scores)) === 35, 60_000)
    expect((await ns.redis.xrange(scores, "-", "+", "COUNT", 1))[0]![0]).toBe(ids[15])
    expect(((await ns.redis.xpending(scores, USER)) as unknown[])[0]).toBe(5)

    // The tool catches up: now only keep.count holds the stream.
    await ns.redis.xack(scores, USER, ...ids.slice(15, 20))
    await ns.redis.xreadgroup("GROUP", USER, "tool", "COUNT", 100, "STREAMS", scores, ">")
    await ns.redis.xack(scores, USER, ...ids.slice(20))
    await waitUntil("a trim down to keep.count", async () => (await ns.redis.xlen(scores)) === 5, 60_000)
    expect((await ns.redis.xrange(scores, "-", "+")).map(([id]) => id)).toEqual(ids.slice(45))

    const base = `http://127.0.0.1:${engine.handles.httpPort}`
    const overview = (await (await fetch(`${base}/api/overview`)).json()) as { streams: { name: string; key: string; length: number; removed: number; lastTrim: { at: number; removed: number } | null; archiveLag: number | null; oldestAgeMs: number | null }[] }
    const s = overview.streams.find((x) => x.name === "scores")!
    expect(s).toMatchObject({ key: scores, length: 5, removed: 45, archiveLag: null })
    expect(s.lastTrim?.removed).toBeGreaterThan(0)
    expect(s.oldestAgeMs).not.toBeNull()
    expect(overview.streams.map((x) => x.name)).toEqual(["scores", "lifecycle", "backfill", "scores_dead", "lifecycle_dead", "backfill_dead"])

    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toContain(`strata_stream_trimmed_entries_total{stream="${scores}"} 45`)
    expect(metrics).toMatch(new RegExp(`strata_stream_oldest_entry_age_seconds\\{stream="${scores}"\\} \\d`))
    expect(metrics).toMatch(new RegExp(`strata_stream_last_trim_timestamp_seconds\\{stream="${scores}"\\} \\d`))
    expect(metrics).toContain(`strata_dead_letters_dropped_total{stream="${ns.prefix}:scores:dead"} 0`)

    // The CLI reads the same settings from a file, as an operator's would.
    const file = join(ns.config.data_dir, "strata.yaml")
    writeFileSync(file, "streams:\n  scores: { keep: { age: 0s, count: 5 } }\narchive:\n  enabled: false\n")
    const status = await runStrata(ns.env, ["status", "--json", "--config", file])
    expect(status.code, status.err).toBe(0)
    const figures = (JSON.parse(status.out) as { streamFigures: { name: string; length: number; removed: number }[] }).streamFigures
    expect(figures.find((x) => x.name === "scores")).toMatchObject({ length: 5, removed: 45 })
    const text = await runStrata(ns.env, ["status", "--config", file])
    expect(text.out).toMatch(new RegExp(`${scores}  length 5, oldest .* old, spans .*, last trim .* removed \\d+, removed 45 in all`))

    const dry = await runStrata(ns.env, ["trim", "--dry-run", "--config", file])
    expect(dry.code, dry.err).toBe(0)
    expect(dry.out).toContain(`${scores}  length 5  nothing to trim: no more than 5 entries held`)
  }, 240_000)
})
