/** The decisions of moving an install to more partitions, and of the install record's check at start. */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { moveRefusal, moveStart, symbolMoves, type MoveFacts } from "../../src/engine/partition-move-plan.ts"
import { installVerdict, type InstallRecord, type UnrecordedState } from "../../streams/install-record.ts"
import { MAX_PARTITIONS, symbolPartition } from "../../streams/partition.ts"

const arbSymbol = fc.stringMatching(/^[A-Z0-9][A-Z0-9.-]{0,14}$/)
const arbCount = fc.integer({ min: 1, max: MAX_PARTITIONS })
const arbTo = fc.integer({ min: 2, max: MAX_PARTITIONS })
const arbRecord: fc.Arbitrary<InstallRecord> = fc.record({
  partitions: fc.option(arbCount, { nil: undefined }),
  migrating: fc.option(arbTo, { nil: undefined })
})
const arbUnrecorded = fc.constantFrom<UnrecordedState>("none", "one", "partitioned")

describe("symbolMoves", () => {
  test.prop([fc.uniqueArray(arbSymbol, { maxLength: 300 }), arbTo])(
    "moves every symbol whose partition is not 0 to that partition, once, and keeps the others",
    (symbols, to) => {
      const moves = symbolMoves(symbols, to)
      const moved = [...moves.values()].flat()
      expect(new Set(moved).size).toBe(moved.length)
      expect(moves.has(0)).toBe(false)
      for (const [p, list] of moves) for (const s of list) expect(symbolPartition(s, to)).toBe(p)
      expect(moved.sort()).toEqual(symbols.filter((s) => symbolPartition(s, to) !== 0).sort())
    })

  test.prop([fc.uniqueArray(arbSymbol, { maxLength: 200 }), fc.uniqueArray(arbSymbol, { maxLength: 200 }), arbTo])(
    "is the same over the pages of a scan as over the whole (a re-run moves what is left the same way)",
    (a, b, to) => {
      const whole = symbolMoves([...a, ...b], to)
      const paged = new Map<number, string[]>()
      for (const page of [a, b]) for (const [p, list] of symbolMoves(page, to)) paged.set(p, [...(paged.get(p) ?? []), ...list])
      for (const p of new Set([...whole.keys(), ...paged.keys()])) expect(new Set(paged.get(p))).toEqual(new Set(whole.get(p)))
    })
})

describe("moveStart", () => {
  test.prop([arbRecord, arbUnrecorded, arbTo])("a move under way is finished by a run to its count and by no other", (record, unrecorded, to) => {
    const start = moveStart(record, unrecorded, to)
    if (record.migrating !== undefined) {
      expect(start.kind).toBe(record.migrating === to ? "run" : "refused")
      if (start.kind === "run") expect(start.resumed).toBe(true)
    }
  })

  test.prop([arbRecord, arbUnrecorded, arbTo])("moves only from one partition; a count already reached is done", (record, unrecorded, to) => {
    fc.pre(record.migrating === undefined)
    const start = moveStart(record, unrecorded, to)
    if (record.partitions === to) expect(start.kind).toBe("done")
    else if (record.partitions !== undefined && record.partitions !== 1) expect(start.kind).toBe("refused")
    else if (record.partitions === undefined && unrecorded === "partitioned") expect(start.kind).toBe("refused")
    else expect(start).toEqual({ kind: "run", resumed: false })
  })

  it("refuses a target below 2", () => {
    expect(moveStart({ partitions: 1, migrating: undefined }, "none", 1).kind).toBe("refused")
  })
})

describe("moveRefusal", () => {
  const quiet: MoveFacts = { lease: undefined, router: undefined, members: [], enginePending: 0, backfillHeld: 0, directEntries: 0 }
  const arbFacts: fc.Arbitrary<MoveFacts> = fc.record({
    lease: fc.option(fc.record({ owner: fc.string(), pttlMs: fc.nat() }), { nil: undefined }),
    router: fc.option(fc.record({ owner: fc.string(), pttlMs: fc.nat() }), { nil: undefined }),
    members: fc.array(fc.string(), { maxLength: 3 }),
    enginePending: fc.nat({ max: 5 }),
    backfillHeld: fc.nat({ max: 5 }),
    directEntries: fc.nat({ max: 5 })
  })

  test.prop([arbFacts])("refuses exactly when something runs or is in hand", (f) => {
    const busy = f.lease !== undefined || f.router !== undefined || f.members.length > 0 || f.enginePending > 0 || f.backfillHeld > 0 || f.directEntries > 0
    expect(moveRefusal(f) !== undefined).toBe(busy)
  })

  it("names the fix", () => {
    expect(moveRefusal({ ...quiet, lease: { owner: "h:1:a", pttlMs: 900 } })).toContain("stop every engine")
    expect(moveRefusal({ ...quiet, enginePending: 3 })).toContain("start the engine (partitions: 1) until it has applied them")
    expect(moveRefusal({ ...quiet, directEntries: 2 })).toContain("write them to the ingress stream instead")
    expect(moveRefusal(quiet)).toBeUndefined()
  })
})

describe("installVerdict", () => {
  test.prop([arbRecord, arbUnrecorded, arbCount])("a start is allowed only for the recorded count, never during a move", (record, unrecorded, configured) => {
    const v = installVerdict("strata", record, unrecorded, configured)
    if (record.migrating !== undefined) {
      expect(v.ok).toBe(false)
      if (!v.ok) expect(v.reason).toContain(`strata partitions migrate --to ${record.migrating}`)
    } else if (record.partitions !== undefined) {
      expect(v).toEqual(record.partitions === configured ? { ok: true, record: undefined } : expect.objectContaining({ ok: false }))
      if (!v.ok) expect(v.reason).toContain(`set partitions: ${record.partitions}`)
    } else if (unrecorded === "one") {
      expect(v).toEqual(configured === 1 ? { ok: true, record: 1 } : expect.objectContaining({ ok: false }))
      if (!v.ok) expect(v.reason).toContain(`strata partitions migrate --to ${configured}`)
    } else {
      expect(v).toEqual({ ok: true, record: configured })
    }
  })
})
