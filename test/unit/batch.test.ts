/**
 * processBatch, the pure core of the engine: whatever the batch boundaries, the same
 * entries give the same lifecycle entries, backfill commands, dead letters and final
 * snapshots (DESIGN §5: the crash tests and replay rely on it).
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { createLifecycle, type LifecycleState } from "../../machines/lifecycle.ts"
import { scoreNames } from "../../machines/rules.ts"
import { decodeActor } from "../../machines/snapshot-codec.ts"
import { processBatch, snapshotArgs } from "../../src/engine/batch.ts"
import { commitClock, newStreamClock } from "../../src/engine/stream-clock.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { arbScore, T0 } from "../helpers/machine.ts"
import { symbolPartition } from "../../streams/partition.ts"

const config = loadConfig({ env: {} })
const rules = rulesFromConfig(config.lifecycle)

const arbEntries = fc.array(
  fc.record({
    symbol: fc.constantFrom("AAPL", "msft", " nvda", "BRK.B", "bad/sym", ""),
    gap: fc.integer({ min: 0, max: 20 * 60_000 }),
    back: fc.boolean(),
    liquidity: arbScore, catalyst: arbScore, activity: arbScore,
    bad: fc.constantFrom(undefined, "NaN", "x")
  }),
  { maxLength: 120 }
).map((specs) => {
  let at = T0
  return specs.map((s, i): StreamEntry => {
    at += s.gap
    const ts = s.back ? at - 30 * 60_000 : at // now and then a late event
    return {
      id: `${T0 + i}-0`,
      fields: ["symbol", s.symbol, "ts", String(ts), "liquidity", s.bad ?? String(s.liquidity), "catalyst", String(s.catalyst), "activity", String(s.activity)]
    }
  })
})

/** Run entries split at the given cut points, carrying snapshots between batches as the engine does. */
const runSplit = (entries: readonly StreamEntry[], cuts: readonly number[]) => {
  const lifecycle = createLifecycle(rules)
  const held = new Map<string, LifecycleState>()
  const clock = newStreamClock(lifecycle)
  const out = { lifecycle: [] as string[][], backfill: [] as string[][], dead: [] as string[][], late: 0 }
  const bounds = [...new Set([0, ...cuts.map((c) => c % (entries.length + 1)), entries.length])].sort((a, b) => a - b)
  for (let i = 0; i + 1 < bounds.length; i++) {
    const batch = entries.slice(bounds[i], bounds[i + 1])
    const r = processBatch(batch, {
      lifecycle, scoreNames: scoreNames(rules), retention: config.retention,
      limits: { maxFields: 32, maxValueLength: 64 }, clock,
      snapshotOf: (s) => held.get(s) ?? lifecycle.initial()
    })
    commitClock(clock, lifecycle, r.streamTime, r.snapshots)
    // Persist and restore across the batch boundary, as the atomic step and a restart would.
    const args = snapshotArgs(r.snapshots)
    for (let j = 0; j < args.length; j += 2) {
      const stored = decodeActor(args[j + 1] as string)
      if (!stored.ok) throw new Error(`stored snapshot unreadable: ${stored.reason}`)
      held.set(args[j] as string, stored.actor)
    }
    out.lifecycle.push(...r.lifecycle)
    out.backfill.push(...r.backfill)
    out.dead.push(...r.dead)
    out.late += r.late
  }
  return { ...out, snapshots: Object.fromEntries([...held].map(([s, snap]) => [s, { layer: snap.layer, context: snap.context }])) }
}

describe("processBatch", () => {
  test.prop([arbEntries, fc.array(fc.nat(), { maxLength: 12 })])(
    "the same entries give the same outputs whatever the batch boundaries",
    (entries, cuts) => {
      expect(runSplit(entries, cuts)).toEqual(runSplit(entries, []))
    }
  )

  test.prop([arbEntries])("every entry is applied, late, or dead-lettered with its original fields", (entries) => {
    const lifecycle = createLifecycle(rules)
    const r = processBatch(entries, {
      lifecycle, scoreNames: scoreNames(rules), retention: config.retention,
      limits: { maxFields: 32, maxValueLength: 64 }, snapshotOf: () => lifecycle.initial(), clock: newStreamClock(lifecycle)
    })
    expect(r.ids).toEqual(entries.map((e) => e.id))
    expect(r.applied + r.late + r.dead.length).toBe(entries.length)
    for (const d of r.dead) {
      const letter = parseDeadLetter(d)
      const source = entries.find((e) => e.id === letter?.sourceId)
      expect(letter?.reason.length).toBeGreaterThan(0)
      // These entries are small: the copy is whole.
      expect(letter).toMatchObject({ truncated: false, original: source?.fields })
    }
  })

  test.prop([arbEntries, fc.integer({ min: 2, max: 32 }).chain((count) => fc.tuple(fc.constant(count), fc.nat({ max: count - 1 })))])(
    "in a partition's stream, an entry of another partition's symbol is dead-lettered and every other one is processed as alone",
    (entries, [count, partition]) => {
      const lifecycle = createLifecycle(rules)
      const ctx = {
        lifecycle, scoreNames: scoreNames(rules), retention: config.retention,
        limits: { maxFields: 32, maxValueLength: 64 }, snapshotOf: () => lifecycle.initial(), clock: newStreamClock(lifecycle)
      }
      const fenced = processBatch(entries, { ...ctx, partition: { partition, count } })
      const home = (e: StreamEntry) => {
        const symbol = String(e.fields[1]).trim().toUpperCase()
        return symbolPartition(symbol, count)
      }
      const foreign = new Set(fenced.dead.map((d) => parseDeadLetter(d)).filter((l) => l?.reason.startsWith("wrong partition")).map((l) => l!.sourceId))
      const alone = processBatch(entries.filter((e) => !foreign.has(e.id)), { ...ctx, clock: newStreamClock(lifecycle) })
      // Only decodable entries of another partition are refused for their partition.
      for (const e of entries) {
        if (foreign.has(e.id)) expect(home(e)).not.toBe(partition)
      }
      expect(fenced.lifecycle).toEqual(alone.lifecycle)
      expect(fenced.applied + fenced.late).toBe(alone.applied + alone.late)
      for (const e of entries.filter((x) => !foreign.has(x.id))) {
        if (/^[A-Z0-9]/.test(String(e.fields[1]).trim().toUpperCase()) && alone.dead.every((d) => parseDeadLetter(d)?.sourceId !== e.id)) {
          expect(home(e)).toBe(partition)
        }
      }
    }
  )
})
