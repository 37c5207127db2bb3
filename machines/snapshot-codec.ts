/**
 * The stored form of an actor (one field of a partition's snapshots hash): what the machine
 * needs to restore a symbol's actor, its layer and context, and nothing of XState's own
 * snapshot. Written compact and versioned:
 *
 *   {"v":1,"layer":2,"c":[lastAt,enteredAt,lastCause,late,streak,scores]}
 *
 * `v` says which field order `c` has, so that a later machine can read what an older
 * engine wrote and convert it; `layer` stays a named key so that anything reading only the
 * layer (status, tiering, jq) reads every version alike. Read also: the form engines wrote
 * before versions, `{"layer":2,"context":{...}}`, converted on reading.
 * Every reader of stored snapshots decodes through `decodeActor` (or `persistedLayer`);
 * a text it cannot read is refused with a reason, never thrown. Pure: no Redis, no xstate.
 */
import type { Layer } from "../src/domain/layers.ts"
import type { ActorState } from "./rules.ts"

export type LifecycleContext = Omit<ActorState, "layer">

/** The persisted form of an actor: its layer and context, nothing else. */
export interface PersistedActor {
  readonly layer: Layer
  readonly context: LifecycleContext
}

/** The version `encodeActor` writes. */
export const SNAPSHOT_VERSION = 1

/** How a stored snapshot was written: this engine's version, or the unversioned form of older engines. */
export type SnapshotFormat = "v1" | "legacy"

export type DecodedActor =
  | { readonly ok: true; readonly actor: PersistedActor; readonly format: SnapshotFormat }
  | { readonly ok: false; readonly reason: string }

/** The stored text of an actor, in the current version. */
export const encodeActor = (p: PersistedActor): string => {
  const c = p.context
  return JSON.stringify({ v: SNAPSHOT_VERSION, layer: p.layer, c: [c.lastAt, c.enteredAt, c.lastCause, c.late, c.streak, c.scores] })
}

/** The unversioned form older engines wrote; kept to test and measure reading existing installs. */
export const encodeLegacyActor = (p: PersistedActor): string => JSON.stringify({ layer: p.layer, context: p.context })

/** Longest streak a stored actor may carry (the rules keep at most `confirmations`, a small number). */
const MAX_STREAK = 64
/** Most scores a stored actor may remember (the rules read three). */
const MAX_SCORES = 64

type Fail = { readonly ok: false; readonly reason: string }
const fail = (reason: string): Fail => ({ ok: false, reason })

const isLayer = (v: unknown): v is Layer => v === 0 || v === 1 || v === 2 || v === 3
const isTime = (v: unknown): v is number | null => v === null || (typeof v === "number" && Number.isSafeInteger(v))
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** The context's fields, checked one by one; the reason names the first that is wrong. */
const contextOf = (
  lastAt: unknown, enteredAt: unknown, lastCause: unknown, late: unknown, streak: unknown, scores: unknown
): { readonly ok: true; readonly context: LifecycleContext } | Fail => {
  if (!isTime(lastAt)) return fail("lastAt is not an integer time or null")
  if (!isTime(enteredAt)) return fail("enteredAt is not an integer time or null")
  if (lastCause !== null && typeof lastCause !== "string") return fail("lastCause is not a string or null")
  if (typeof late !== "number" || !Number.isSafeInteger(late) || late < 0) return fail("late is not a count")
  if (!Array.isArray(streak) || streak.length > MAX_STREAK || !streak.every(isLayer)) return fail("streak is not a list of layers")
  if (!isObject(scores)) return fail("scores is not an object")
  const names = Object.keys(scores)
  if (names.length > MAX_SCORES) return fail(`more than ${MAX_SCORES} scores`)
  for (const name of names) {
    const v = scores[name]
    if (typeof v !== "number" || !Number.isFinite(v)) return fail(`score ${JSON.stringify(name).slice(0, 40)} is not a finite number`)
  }
  // The parsed object itself: JSON.parse makes even a "__proto__" key a plain own field.
  return { ok: true, context: { scores: scores as Record<string, number>, streak: streak as Layer[], enteredAt, lastAt, lastCause, late } }
}

const decodeV1 = (o: Record<string, unknown>): DecodedActor => {
  const layer = o["layer"]
  if (!isLayer(layer)) return fail("layer is not 0-3")
  const c = o["c"]
  if (!Array.isArray(c) || c.length !== 6) return fail("c is not the 6 context fields of version 1")
  const r = contextOf(c[0], c[1], c[2], c[3], c[4], c[5])
  return r.ok ? { ok: true, actor: { layer, context: r.context }, format: "v1" } : r
}

const decodeLegacy = (o: Record<string, unknown>): DecodedActor => {
  const layer = o["layer"]
  if (!isLayer(layer)) return fail("layer is not 0-3")
  const x = o["context"]
  if (!isObject(x)) return fail("unversioned snapshot without a context")
  const r = contextOf(x["lastAt"], x["enteredAt"], x["lastCause"], x["late"], x["streak"], x["scores"])
  return r.ok ? { ok: true, actor: { layer, context: r.context }, format: "legacy" } : r
}

/** Readers by version: a later version adds its own and converts what older ones wrote. */
const BY_VERSION: Readonly<Record<number, (o: Record<string, unknown>) => DecodedActor>> = { 1: decodeV1 }

const parse = (text: string): { readonly ok: true; readonly o: Record<string, unknown> } | Fail => {
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch {
    // The reason is the answer: the caller refuses the text and says why.
    return fail("not JSON")
  }
  return isObject(o) ? { ok: true, o } : fail("not a JSON object")
}

/** A stored snapshot, in any version this engine reads, or the reason it cannot be read. */
export const decodeActor = (text: string): DecodedActor => {
  const parsed = parse(text)
  if (!parsed.ok) return parsed
  const o = parsed.o
  const v = o["v"]
  if (v === undefined) return decodeLegacy(o)
  const read = typeof v === "number" ? BY_VERSION[v] : undefined
  if (read === undefined) return fail(`snapshot version ${JSON.stringify(v).slice(0, 20)} is not one this engine reads (it reads ${Object.keys(BY_VERSION).join(", ")} and unversioned)`)
  return read(o)
}

/**
 * The layer recorded in a stored snapshot, for readers that need only that; undefined when
 * the text is not a snapshot. Every version keeps `layer` as a named key, so this does not
 * check the context (a snapshot whose context is unreadable still shows its layer).
 */
export const persistedLayer = (text: string | null | undefined): Layer | undefined => {
  if (!text) return undefined
  const parsed = parse(text)
  if (!parsed.ok) return undefined
  const layer = parsed.o["layer"]
  return isLayer(layer) ? layer : undefined
}
