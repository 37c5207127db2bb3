/**
 * The scanner archive in its own thread, with the archive thread's test faults
 * (STRATA_ARCHIVE_FAULT, src/engine/archive-faults.ts) in an engine run inside this process:
 * - held: the thread blocks itself synchronously after reading its first chunk (as a long
 *   encoding does); meanwhile the engine applies every entry written after it (its group's
 *   applied bound reaches them) and the thread is still held: the archive's work is not on
 *   the engine's event loop. Released, the archive completes; the engine's shutdown asks the
 *   thread to stop and waits for it.
 * - crashed: the thread throws out of itself after writing a chunk's parts, before the mark;
 *   the engine logs the reason, restarts it, and the archive completes, every entry exactly once.
 * - priority: the thread runs at `archive.nice` (read from /proc, Linux), and so does the
 *   TypeScript loader's thread it starts; the engine's own thread keeps its priority.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readArchiveMark } from "../../streams/archive-mark.ts"
import { appliedBound } from "../../streams/consumer.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { startEngine } from "../../src/app/engine-process.ts"
import { createLogger } from "../../src/services/logger.ts"
import { localObjectStore } from "../../src/storage/object-store.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { allArchivedRows } from "../helpers/archive.ts"
import { waitUntil } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import type { Config } from "../../config/schema.ts"

/** An engine in this process with `fault` set for its archive thread; its log lines kept as objects. */
const engineWithFault = async (config: Config, fault: string) => {
  const lines: Record<string, unknown>[] = []
  const log = createLogger("test-engine", "info", { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  process.env["STRATA_ARCHIVE_FAULT"] = fault
  const scope = Effect.runSync(Scope.make())
  await Effect.runPromise(Scope.provide(scope)(startEngine(config, log)))
  // The thread took its environment when it started.
  await waitUntil("the archive thread started", () => lines.some((l) => l["msg"] === "archive thread started"), 60_000)
  delete process.env["STRATA_ARCHIVE_FAULT"]
  return { lines, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** A thread's nice value from /proc (field 19 of its stat, counted after the command's parentheses). */
const niceOf = (tid: number | string): number => {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])
}

const entriesFrom = (events: number, seed: number, start: number) =>
  workloadArray({ events, symbols: 40, seed, start, stepMs: 1_000, lateShare: 0.02, badShare: 0.02 })

describe("the archive thread", () => {
  let ns: TestNamespace
  let dir: string
  beforeAll(async () => {
    ns = await testNamespace({ ...ENGINE_ONLY, archive: { every: "100ms", max_rows: 700 } })
    dir = mkdtempSync(join(tmpdir(), "strata-archive-thread-"))
  })
  afterAll(async () => {
    delete process.env["STRATA_ARCHIVE_FAULT"]
    await ns?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it("holds up nothing of the engine: entries are applied while the thread is held in a pass", async () => {
    const hold = join(dir, "hold")
    rmSync(hold, { recursive: true, force: true })
    mkdirSync(hold)
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    const first = entriesFrom(1_000, 7, Date.UTC(2026, 10, 3, 9))
    const second = entriesFrom(1_000, 8, Date.UTC(2026, 10, 3, 12))
    const engine = await engineWithFault(ns.config, `hold:${hold}`)
    try {
      await xaddAll(ns.redis, scores, first)
      await waitUntil("the archive thread held in its first chunk", () => existsSync(join(hold, "held")), 120_000)
      const heldAt = await appliedBound(ns.redis, scores, GROUPS.engine)
      await xaddAll(ns.redis, scores, second)
      const lastId = (second.at(-1) as StreamEntry).id
      // Applied up to the last entry: delivered to the group, nothing of it pending.
      await waitUntil("the engine applied the entries written during the hold", async () => (await appliedBound(ns.redis, scores, GROUPS.engine)) === lastId, 120_000)
      // All of it while the thread was still held: nothing of its pass had moved on.
      expect(existsSync(join(hold, "released"))).toBe(false)
      expect(await readArchiveMark(ns.redis, keys)).toBeUndefined()
      expect(heldAt).not.toBe(lastId)
      writeFileSync(join(hold, "release"), "")
      await waitUntil("the archive mark reached the last entry", async () => (await readArchiveMark(ns.redis, keys)) === lastId, 120_000)
    } finally {
      await engine.stop()
    }
    // The engine's shutdown waited for the thread, which stopped by itself when asked.
    expect(engine.lines.filter((l) => l["msg"] === "archive thread stopped with the engine").map((l) => l["terminated"])).toEqual([false])
    const rows = await allArchivedRows(localObjectStore(ns.config.storage.lake))
    expect(rows.map((r) => r.id)).toEqual([...first, ...second].map((e) => e.id))
  }, 300_000)

  it("is restarted after it throws, with the reason logged, and the archive is complete", async () => {
    const crash = join(dir, "crash")
    mkdirSync(crash, { recursive: true })
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    const before = await ns.redis.xrange(scores, "-", "+")
    const more = entriesFrom(2_000, 9, Date.UTC(2026, 10, 4, 9))
    const engine = await engineWithFault(ns.config, `crash:${crash}`)
    try {
      await xaddAll(ns.redis, scores, more)
      const lastId = (more.at(-1) as StreamEntry).id
      await waitUntil("the archive mark reached the last entry", async () => (await readArchiveMark(ns.redis, keys)) === lastId, 180_000)
      expect(existsSync(join(crash, "crashed"))).toBe(true)
      const stopped = engine.lines.filter((l) => l["msg"] === "archive thread stopped; restarting it")
      expect(stopped.length).toBe(1)
      expect(String(stopped[0]?.["reason"])).toMatch(/archive fault: crash before the mark moves/)
      expect(engine.lines.filter((l) => l["msg"] === "archive thread started").length).toBe(2)
    } finally {
      await engine.stop()
    }
    // Every entry exactly once over every stored part: the crashed chunk's parts were replaced.
    const rows = await allArchivedRows(localObjectStore(ns.config.storage.lake))
    expect(rows.map((r) => r.id)).toEqual([...before.map(([id]) => id), ...more.map((e) => e.id)])
  }, 300_000)

  it.runIf(process.platform === "linux")("runs at archive.nice, its loader thread too, and leaves the engine's thread alone", async () => {
    const low = await testNamespace({ ...ENGINE_ONLY, archive: { every: "100ms", nice: 10 } })
    const thisThread = readFileSync("/proc/thread-self/stat", "utf8").split(" ")[0] as string
    const own = niceOf(thisThread)
    // A test run under a higher nice already keeps it: a thread never raises its priority.
    const expected = Math.max(own, low.config.archive.nice)
    const before = new Set(readdirSync("/proc/self/task"))
    const engine = await engineWithFault(low.config, "")
    try {
      await waitUntil("the archive thread reported its priority", () => engine.lines.some((l) => l["msg"] === "archive thread priority"), 60_000)
      const line = engine.lines.find((l) => l["msg"] === "archive thread priority")
      expect(line?.["nice"]).toBe(expected)
      expect(niceOf(Number(line?.["tid"]))).toBe(expected)
      // Threads the archive thread started after lowering itself (tsx's loader) inherit it.
      const startedAtNice = () => readdirSync("/proc/self/task").filter((t) => !before.has(t) && t !== String(line?.["tid"]) && niceOf(t) === expected)
      await waitUntil("a thread the archive thread started runs at its nice", () => startedAtNice().length > 0, 60_000)
      expect(niceOf(thisThread)).toBe(own)
    } finally {
      await engine.stop()
      await low.cleanup()
    }
  }, 300_000)
})
