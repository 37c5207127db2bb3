/**
 * The stored form of an actor: what is written reads back the same; what older engines
 * wrote (unversioned JSON) restores the actor XState itself restores from its own
 * persisted snapshot, and goes on to the same transitions and the same persisted state;
 * any other text is refused with a reason, never thrown.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { createActor, transition } from "xstate"
import { layerOfName } from "../../src/domain/layers.ts"
import { createLifecycle, type LifecycleSnapshot } from "../../machines/lifecycle.ts"
import type { LifecycleInput } from "../../machines/rules.ts"
import {
  decodeActor, encodeActor, encodeLegacyActor, persistedLayer, SNAPSHOT_VERSION, type PersistedActor
} from "../../machines/snapshot-codec.ts"
import { arbEvents, DEFAULT_RULES, MIN } from "../helpers/machine.ts"

const lc = createLifecycle({ ...DEFAULT_RULES, minDwellMs: 10 * MIN })

const arbTime = fc.option(fc.integer({ min: 0, max: 4_102_444_800_000 }), { nil: null })
const arbActor: fc.Arbitrary<PersistedActor> = fc.record({
  layer: fc.constantFrom(0, 1, 2, 3),
  context: fc.record({
    scores: fc.dictionary(fc.string({ maxLength: 12 }), fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v)), { maxKeys: 5 }),
    streak: fc.array(fc.constantFrom(0, 1, 2, 3), { maxLength: 5 }),
    enteredAt: arbTime,
    lastAt: arbTime,
    lastCause: fc.option(fc.string({ maxLength: 24 }), { nil: null }),
    late: fc.nat()
  })
}) as fc.Arbitrary<PersistedActor>

/** Score events with a stale event now and then (the stream time passing a deadline). */
const arbInputs = fc.tuple(arbEvents(50), fc.array(fc.integer({ min: 0, max: 49 }), { maxLength: 6 })).map(([events, stale]) => {
  const out: LifecycleInput[] = []
  events.forEach((e, i) => {
    out.push(e)
    if (stale.includes(i)) out.push({ type: "stale", at: e.at, cause: `${e.at}-stale`, scores: {} })
  })
  return out
})

const decoded = (text: string): PersistedActor => {
  const r = decodeActor(text)
  if (!r.ok) throw new Error(`refused: ${r.reason}`)
  return r.actor
}

describe("encodeActor / decodeActor", () => {
  test.prop([arbActor])("reads back what it writes, as version 1", (actor) => {
    const text = encodeActor(actor)
    expect(JSON.parse(text)).toMatchObject({ v: SNAPSHOT_VERSION, layer: actor.layer })
    expect(decodeActor(text)).toEqual({ ok: true, actor, format: "v1" })
    expect(persistedLayer(text)).toBe(actor.layer)
  })

  test.prop([arbActor])("reads the unversioned form of older engines as the same actor", (actor) => {
    const text = encodeLegacyActor(actor)
    expect(decodeActor(text)).toEqual({ ok: true, actor, format: "legacy" })
    expect(encodeActor(decoded(text))).toBe(encodeActor(actor))
    expect(persistedLayer(text)).toBe(actor.layer)
  })

  it("writes less than the unversioned form", () => {
    let at = Date.UTC(2026, 0, 5, 14, 30)
    let snap = lc.initial()
    for (let i = 0; i < 20; i++) {
      at += 7 * MIN
      snap = lc.step(snap, { type: "score", at, cause: `${at}-0`, scores: { liquidity: 0.81, catalyst: 0.849, activity: 0.5 } }).state
    }
    const actor = snap
    expect(actor.layer).toBeGreaterThan(0)
    expect(encodeActor(actor).length).toBeLessThan(0.75 * encodeLegacyActor(actor).length)
  })

  test.prop([arbInputs, fc.nat()])(
    "an older engine's snapshot restores as XState's own persisted snapshot does, with the same next transitions",
    (inputs, cut) => {
      const k = inputs.length === 0 ? 0 : cut % (inputs.length + 1)
      let before: LifecycleSnapshot = lc.snapshotOf(lc.initial())
      for (const e of inputs.slice(0, k)) [before] = transition(lc.machine, before, e)
      // XState's own path: its persisted snapshot through JSON, restored by an actor.
      const xstateJson = JSON.stringify(lc.machine.getPersistedSnapshot(before))
      let theirs = createActor(lc.machine, { snapshot: JSON.parse(xstateJson) }).getSnapshot()
      // Ours: the unversioned form an older engine stored, read and rewritten compact, read again.
      const legacy = encodeLegacyActor({ layer: layerOfName(before.value), context: before.context })
      let ours = lc.snapshotOf(decoded(encodeActor(decoded(legacy))))
      expect(ours.value).toBe(theirs.value)
      expect(ours.context).toEqual(theirs.context)
      for (const e of inputs.slice(k)) {
        ;[theirs] = transition(lc.machine, theirs, e)
        ;[ours] = transition(lc.machine, ours, e)
        expect(ours.value).toBe(theirs.value)
        expect(ours.context).toEqual(theirs.context)
      }
      expect(lc.machine.getPersistedSnapshot(ours)).toEqual(lc.machine.getPersistedSnapshot(theirs))
    }
  )
})

describe("a stored snapshot that cannot be read", () => {
  const valid = encodeActor({
    layer: 2, context: { scores: { liquidity: 0.8 }, streak: [], enteredAt: 1, lastAt: 2, lastCause: "2-0", late: 0 }
  })

  it.each([
    ["", "not JSON"],
    ["{\"layer\":2", "not JSON"],
    ["[1,2,3]", "not a JSON object"],
    ["null", "not a JSON object"],
    ["{\"layer\":3}", "without a context"],
    ["{\"layer\":7,\"context\":{}}", "layer"],
    ["{\"v\":2,\"layer\":1,\"c\":[]}", "version 2 is not one this engine reads"],
    ["{\"v\":\"1\",\"layer\":1,\"c\":[]}", "version \"1\""],
    ["{\"v\":1,\"layer\":1,\"c\":[1,2,\"x\",0,[]]}", "6 context fields"],
    ["{\"v\":1,\"layer\":1,\"c\":[1.5,2,\"x\",0,[],{}]}", "lastAt"],
    ["{\"v\":1,\"layer\":1,\"c\":[1,2,\"x\",-1,[],{}]}", "late"],
    ["{\"v\":1,\"layer\":1,\"c\":[1,2,\"x\",0,[9],{}]}", "streak"],
    ["{\"v\":1,\"layer\":1,\"c\":[1,2,\"x\",0,[],{\"liquidity\":\"high\"}]}", "score \"liquidity\""],
    ["{\"v\":1,\"layer\":1,\"c\":[1,2,\"x\",0,[],[0.5]]}", "scores"]
  ])("%s is refused: %s", (text, reason) => {
    const r = decodeActor(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toContain(reason)
  })

  it("keeps a __proto__ score a plain field, prototype untouched", () => {
    const r = decodeActor("{\"v\":1,\"layer\":1,\"c\":[1,2,\"x\",0,[],{\"__proto__\":0.5}]}")
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(Object.getPrototypeOf(r.actor.context.scores)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(r.actor.context.scores, "__proto__")?.value).toBe(0.5)
  })

  const garbled = fc.oneof(
    fc.string(),
    fc.json(),
    fc.tuple(fc.nat(), fc.nat(), fc.string({ maxLength: 3 })).map(([at, drop, put]) => {
      const i = at % valid.length
      return valid.slice(0, i) + put + valid.slice(i + 1 + (drop % 3))
    }),
    fc.anything().map((v) => JSON.stringify({ v: 1, layer: 1, c: [1, 2, "x", 0, [], v] }) ?? "")
  )
  test.prop([garbled], { numRuns: 2_000 })("never throws: refused with a reason, or read as a valid actor", (text) => {
    const r = decodeActor(text)
    if (!r.ok) {
      expect(r.reason.length).toBeGreaterThan(0)
      return
    }
    // What it accepts it writes back and reads again as the same actor.
    expect(decoded(encodeActor(r.actor))).toEqual(r.actor)
    expect([0, 1, 2, 3]).toContain(r.actor.layer)
  })
})
