/**
 * Trimming against a real Redis, with real consumer groups: the engine's group on scores,
 * the projector's on lifecycle, the workers' on backfill, and a user's own group on each.
 * A seeded run of reads, acknowledgements and trims never removes an entry some group has
 * not read or still holds pending, and removes everything they are all done with; a group
 * created or moved back between reading the bound and trimming stops the trim; retention
 * by count and by entry time holds; dead-letter streams are capped and what they drop is
 * counted; the archive mark bounds the scores streams.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { compareEntryIds } from "../../src/domain/time.ts"
import { GROUPS } from "../../streams/keys.ts"
import { allStreamFigures, trimBelow, trimCommands, trimPass, trimStream, type CountFloors, type TrimTarget } from "../../streams/trim.ts"
import { trimPlan } from "../../streams/trim-plan.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2026, 10, 2, 14)
const USER = "user-tool"
const NO_KEEP = { keep: { age: "0s", count: 0 } }
const ALL_NO_KEEP = { scores: NO_KEEP, lifecycle: NO_KEEP, backfill: NO_KEEP }

/** mulberry32: a seeded PRNG, so every run makes the same choices. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

let ns: TestNamespace
afterEach(async () => ns.cleanup())

const addEntries = async (key: string, from: number, n: number, stepMs = 1): Promise<string[]> => {
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push(await ns.redis.xadd(key, `${T0 + (from + i) * stepMs}-0`, "symbol", `S${from + i}`, "liquidity", "0.5") as string)
  return ids
}
const idsOf = async (key: string) => (await ns.redis.xrange(key, "-", "+")).map(([id]) => id)

describe("trimming with real consumer groups", () => {
  beforeEach(async () => {
    ns = await testNamespace({ streams: ALL_NO_KEEP, archive: { enabled: false } })
  })

  it("never removes an entry a group has not read or acknowledged, and removes what every group is done with (seeded)", async () => {
    const plan = trimPlan(ns.config)
    const streams = plan.targets.filter((t) => !t.dead)
    const random = prng(1102)
    // Per stream and group: the last entry delivered, and those delivered but not acknowledged.
    const model = new Map<string, { ids: string[]; groups: Map<string, { last: string; pending: Set<string> }> }>()
    for (const t of streams) {
      const ids = await addEntries(t.key, 0, 120)
      const groups = new Map<string, { last: string; pending: Set<string> }>()
      for (const g of [...t.requiredGroups, USER]) {
        await ns.redis.xgroup("CREATE", t.key, g, "0")
        groups.set(g, { last: "0-0", pending: new Set() })
      }
      model.set(t.key, { ids, groups })
    }
    let removedInAll = 0
    for (let step = 0; step < 40; step++) {
      for (const t of streams) {
        const m = model.get(t.key)!
        for (const [group, g] of m.groups) {
          const n = Math.floor(random() * 8)
          if (n > 0) {
            const reply = (await ns.redis.xreadgroup("GROUP", group, "c1", "COUNT", n, "STREAMS", t.key, ">")) as [string, [string, string[]][]][] | null
            for (const [id] of reply?.[0]?.[1] ?? []) {
              g.pending.add(id)
              g.last = id
            }
          }
          // Acknowledge some of what is pending, at random: the oldest stay pending now and then.
          for (const id of [...g.pending]) if (random() < 0.6) {
            await ns.redis.xack(t.key, group, id)
            g.pending.delete(id)
          }
        }
        if (step % 10 === 9) await addEntries(t.key, 120 + step * 5, 5).then((ids) => m.ids.push(...ids))
      }
      if (random() < 0.5) continue
      const results = await trimPass(ns.redis, plan)
      for (const t of streams) {
        const m = model.get(t.key)!
        const held = await idsOf(t.key)
        const needed = (id: string) => [...m.groups.values()].some((g) => compareEntryIds(id, g.last) > 0 || g.pending.has(id))
        const gone = m.ids.filter((id) => !held.includes(id))
        for (const id of gone) expect(needed(id), `${t.name}: ${id} removed while a group still needed it`).toBe(false)
        // Everything below the first entry held is gone, and that first entry is needed by some group.
        if (held[0] !== undefined) expect(needed(held[0]), `${t.name}: ${held[0]} could have gone`).toBe(true)
        m.ids = held
        const r = results.find((x) => "name" in x && x.name === t.name)!
        expect("error" in r).toBe(false)
        if (!("error" in r)) removedInAll += r.removed
      }
    }
    expect(removedInAll).toBeGreaterThan(100)
    // What the script recorded adds up to what was removed.
    const figures = await allStreamFigures(ns.redis, plan)
    expect(figures.filter((f) => !f.name.endsWith("_dead")).reduce((a, f) => a + f.removed, 0)).toBe(removedInAll)
  })

  it("keeps everything while the stream's own group does not exist (an install whose engine never ran)", async () => {
    const plan = trimPlan(ns.config)
    const scores = plan.targets.find((t) => t.name === "scores")!
    await addEntries(scores.key, 0, 20)
    await ns.redis.xgroup("CREATE", scores.key, USER, "$")
    const r = await trimStream(ns.redis, scores, plan.record)
    expect(r.removed).toBe(0)
    expect(r.bound).toEqual({ trim: false, reason: `group ${GROUPS.engine} does not exist yet` })
    expect(await ns.redis.xlen(scores.key)).toBe(20)
  })

  it("refuses a bound a group created or moved back since it was read", async () => {
    const plan = trimPlan(ns.config)
    const scores = plan.targets.find((t) => t.name === "scores")!
    const ids = await addEntries(scores.key, 0, 20)
    await ns.redis.xgroup("CREATE", scores.key, GROUPS.engine, "$")
    const dry = await trimStream(ns.redis, scores, plan.record, true)
    expect(dry.bound.trim).toBe(true)
    const minId = dry.bound.trim ? dry.bound.minId : ""
    // A user's group created at the start in between: it has read nothing.
    await ns.redis.xgroup("CREATE", scores.key, USER, "0")
    expect(await trimBelow(ns.redis, scores, plan.record, minId)).toEqual({ removed: 0, refused: `group ${USER} unread` })
    await ns.redis.xgroup("DESTROY", scores.key, USER)
    // The engine's group moved back to re-read the last five.
    await ns.redis.xgroup("SETID", scores.key, GROUPS.engine, ids[14]!)
    expect(await trimBelow(ns.redis, scores, plan.record, minId)).toEqual({ removed: 0, refused: `group ${GROUPS.engine} unread` })
    expect(await ns.redis.xlen(scores.key)).toBe(20)
    // A removal a moment later is bounded by where the group is now.
    expect((await trimStream(ns.redis, scores, plan.record)).removed).toBe(15)
    expect(await idsOf(scores.key)).toEqual(ids.slice(15))
  })
})

describe("retention and caps", () => {
  const target = async (name: string, overrides: Record<string, unknown>) => {
    ns = await testNamespace({ streams: { ...ALL_NO_KEEP, ...overrides }, archive: { enabled: false } })
    const plan = trimPlan(ns.config)
    return { plan, t: plan.targets.find((x) => x.name === name)! }
  }
  /** Stream entries every group has read and acknowledged. */
  const doneWith = async (t: TrimTarget, n: number, stepMs = 1) => {
    const ids = await addEntries(t.key, 0, n, stepMs)
    for (const g of t.requiredGroups) {
      await ns.redis.xgroup("CREATE", t.key, g, "0")
      await ns.redis.xreadgroup("GROUP", g, "c1", "COUNT", n, "STREAMS", t.key, ">")
      await ns.redis.xack(t.key, g, ...ids)
    }
    return ids
  }

  it("keeps the newest keep.count entries", async () => {
    const { plan, t } = await target("lifecycle", { lifecycle: { keep: { age: "0s", count: 7 } } })
    const ids = await doneWith(t, 30)
    expect((await trimStream(ns.redis, t, plan.record)).removed).toBe(23)
    expect(await idsOf(t.key)).toEqual(ids.slice(23))
  })

  it("reads the count floor only when it can lower the bound, and keeps keep.count when an entry above it is deleted", async () => {
    const { plan, t } = await target("lifecycle", { lifecycle: { keep: { age: "0s", count: 10 } } })
    const ids = await addEntries(t.key, 0, 40)
    const group = t.requiredGroups[0] as string
    await ns.redis.xgroup("CREATE", t.key, group, "0")
    const readAndAck = async (n: number) => {
      const got = (await ns.redis.xreadgroup("GROUP", group, "c1", "COUNT", n, "STREAMS", t.key, ">")) as [string, [string, string[]][]][] | null
      const read = (got?.[0]?.[1] ?? []).map(([id]) => id)
      if (read.length > 0) await ns.redis.xack(t.key, group, ...read)
    }
    // A connection of the test's own, whose reads of the floor (a walk of keep.count entries) are counted.
    const conn = ns.redis.duplicate()
    try {
      const cmds = trimCommands(conn)
      const nth = cmds.strataNthNewest.bind(cmds)
      let floorReads = 0
      cmds.strataNthNewest = (...a: Parameters<typeof nth>) => { floorReads++; return nth(...a) }
      const floors: CountFloors = new Map()
      const pass = () => trimStream(conn, t, plan.record, false, floors)
      // The group has read nothing: nothing goes, and the floor cannot matter.
      expect((await pass()).removed).toBe(0)
      expect(floorReads).toBe(0)
      await readAndAck(5)
      expect((await pass()).removed).toBe(5)
      expect(floorReads).toBe(1)
      // The group's bound is still below that floor: the floor is not read again.
      await readAndAck(10)
      expect((await pass()).removed).toBe(10)
      expect(floorReads).toBe(1)
      // An entry above the floor (ids[30]) deleted by ID: fewer newer entries than the floor
      // promised, so it is read anew, with the group's bound just below the old floor (read up
      // to ids[29]), where trusting the old floor would leave 9 entries.
      await ns.redis.xdel(t.key, ids[35] as string)
      await readAndAck(15)
      expect((await pass()).removed).toBe(14)
      expect(floorReads).toBe(2)
      const left = ids.filter((id) => id !== ids[35])
      expect(await idsOf(t.key)).toEqual(left.slice(-10))
    } finally {
      conn.disconnect()
    }
  })

  it("keeps keep.age of entry time, counted back from the newest entry", async () => {
    const { plan, t } = await target("backfill", { backfill: { keep: { age: "10s", count: 0 } } })
    const ids = await doneWith(t, 30, 1000)
    expect((await trimStream(ns.redis, t, plan.record)).removed).toBe(19)
    expect(await idsOf(t.key)).toEqual(ids.slice(19))
  })

  it("keeps the larger of the two when both are set", async () => {
    const { plan, t } = await target("scores", { scores: { keep: { age: "5s", count: 12 } } })
    const ids = await doneWith(t, 30, 1000)
    await trimStream(ns.redis, t, plan.record)
    expect(await idsOf(t.key)).toEqual(ids.slice(18))
  })

  it("caps a dead-letter stream, drops the oldest and counts them", async () => {
    const { plan, t } = await target("backfill_dead", { backfill_dead: { cap: 10 } })
    const ids = await addEntries(t.key, 0, 30)
    expect((await trimStream(ns.redis, t, plan.record)).removed).toBe(20)
    expect(await idsOf(t.key)).toEqual(ids.slice(20))
    await addEntries(t.key, 30, 5)
    await trimStream(ns.redis, t, plan.record)
    expect(await ns.redis.xlen(t.key)).toBe(10)
    const f = (await allStreamFigures(ns.redis, plan)).find((x) => x.name === "backfill_dead")!
    expect(f).toMatchObject({ length: 10, dropped: 25, removed: 25, lastTrim: { removed: 5 } })
    // A user's group on a dead-letter stream is respected like any other.
    await ns.redis.xgroup("CREATE", t.key, USER, "0")
    await addEntries(t.key, 35, 5)
    expect((await trimStream(ns.redis, t, plan.record)).removed).toBe(0)
    expect(await ns.redis.xlen(t.key)).toBe(15)
  })
})

describe("the archive mark", () => {
  it("bounds the scores streams: nothing goes before a mark exists, nothing above it after", async () => {
    ns = await testNamespace({ streams: { ...ALL_NO_KEEP, scores_dead: { cap: 1 } }, archive: { enabled: true } })
    const plan = trimPlan(ns.config)
    const scores = plan.targets.find((t) => t.name === "scores")!
    const dead = plan.targets.find((t) => t.name === "scores_dead")!
    const ids = await addEntries(scores.key, 0, 30)
    const deadIds = await addEntries(dead.key, 0, 30)
    await ns.redis.xgroup("CREATE", scores.key, GROUPS.engine, "$")
    expect((await trimPass(ns.redis, plan)).map((r) => ("removed" in r ? r.removed : -1))).toEqual([0, 0, 0, 0, 0, 0])
    let f = await allStreamFigures(ns.redis, plan)
    expect(f.find((x) => x.name === "scores")!.archiveLag).toBe(30)
    await ns.redis.set(scores.archiveMark!, ids[9]!)
    await trimPass(ns.redis, plan)
    expect(await idsOf(scores.key)).toEqual(ids.slice(10))
    expect(await idsOf(dead.key)).toEqual(deadIds.slice(10))
    f = await allStreamFigures(ns.redis, plan)
    expect(f.find((x) => x.name === "scores")).toMatchObject({ length: 20, archiveLag: 20, removed: 10 })
    expect(f.find((x) => x.name === "lifecycle")!.archiveLag).toBeNull()
  })
})
