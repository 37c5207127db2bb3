/**
 * The what-if report: the same entries replayed under two configurations, compared.
 * Symbols whose final layer differs, transitions present only under one of them (a
 * transition is its symbol, layer pair, event time and cause), and backfill commands with
 * their estimated provider requests under each. Pure.
 */
import { decodeLifecycleEntry } from "../../streams/lifecycle-wire.ts"
import type { EstimateConfig } from "./estimate.ts"
import type { Layer } from "../domain/layers.ts"
import { summarise, type ReplayRun, type ReplaySummary } from "./summary.ts"

export interface TransitionRef {
  readonly symbol: string
  readonly from: number
  readonly to: number
  readonly at: number
  readonly cause: string
}

export interface LayerChange {
  readonly symbol: string
  readonly a: Layer
  readonly b: Layer
}

export interface WhatIfReport {
  readonly a: { readonly label: string; readonly summary: ReplaySummary }
  readonly b: { readonly label: string; readonly summary: ReplaySummary }
  readonly layerChanges: readonly LayerChange[]
  /** Transitions under B that A does not make. */
  readonly gained: readonly TransitionRef[]
  /** Transitions under A that B does not make. */
  readonly lost: readonly TransitionRef[]
}

/**
 * The transitions of a run's lifecycle entries. The engine writes only decodable ones; an
 * entry that is not (written by hand into a namespace) is no transition to compare, and
 * the namespace's projector has dead-lettered it with its reason.
 */
const refsOf = (lifecycle: readonly (readonly string[])[]): TransitionRef[] =>
  lifecycle.flatMap((fields) => {
    const d = decodeLifecycleEntry({ id: "", fields })
    return d.ok ? [{ symbol: d.event.symbol, from: d.event.from, to: d.event.to, at: d.event.at, cause: d.event.cause }] : []
  })

const keyOf = (t: TransitionRef): string => `${t.symbol}|${t.from}|${t.to}|${t.at}|${t.cause}`

const only = (xs: readonly TransitionRef[], ys: readonly TransitionRef[]): TransitionRef[] => {
  const counts = new Map<string, number>()
  for (const y of ys) counts.set(keyOf(y), (counts.get(keyOf(y)) ?? 0) + 1)
  const out: TransitionRef[] = []
  for (const x of xs) {
    const k = keyOf(x)
    const n = counts.get(k) ?? 0
    if (n > 0) counts.set(k, n - 1)
    else out.push(x)
  }
  return out
}

export interface Side {
  readonly label: string
  readonly run: ReplayRun
  /** The configuration the run was made under (its policy, chunking and provider price the commands). */
  readonly config: EstimateConfig
}

export const whatIf = (a: Side, b: Side): WhatIfReport => {
  const symbols = new Set([...a.run.finalLayers.keys(), ...b.run.finalLayers.keys()])
  const layerChanges: LayerChange[] = []
  for (const symbol of [...symbols].sort()) {
    const la = a.run.finalLayers.get(symbol) ?? 0
    const lb = b.run.finalLayers.get(symbol) ?? 0
    if (la !== lb) layerChanges.push({ symbol, a: la, b: lb })
  }
  const ta = refsOf(a.run.lifecycle)
  const tb = refsOf(b.run.lifecycle)
  return {
    a: { label: a.label, summary: summarise(a.run, a.config) },
    b: { label: b.label, summary: summarise(b.run, b.config) },
    layerChanges,
    gained: only(tb, ta),
    lost: only(ta, tb)
  }
}
