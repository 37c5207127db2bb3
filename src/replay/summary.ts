/**
 * What a replay produced, and its summary: events, applied, late and dead-lettered
 * entries, transitions per layer pair, backfill commands by layer and by data type, the
 * estimated provider requests, and the final layer count. The same summary is built from
 * a dry run's outputs and from what a namespace run wrote to its streams. Pure.
 */
import { fieldRecord } from "../../streams/entry.ts"
import type { Layer } from "../domain/layers.ts"
import { estimateRequests, type EstimateConfig } from "./estimate.ts"

export interface ReplayCounts {
  readonly events: number
  readonly applied: number
  readonly late: number
  readonly dead: number
}

/** Everything a replay wrote, as wire field lists in stream order. */
export interface ReplayRun {
  readonly counts: ReplayCounts
  readonly lifecycle: readonly (readonly string[])[]
  readonly backfill: readonly (readonly string[])[]
  readonly dead: readonly (readonly string[])[]
  /** Layer of every symbol seen, after the last entry. */
  readonly finalLayers: ReadonlyMap<string, Layer>
}

export interface ReplaySummary extends ReplayCounts {
  readonly symbols: number
  /** "from->to" → count, e.g. "0->1". */
  readonly transitions: Record<string, number>
  readonly transitionsTotal: number
  readonly commands: {
    readonly total: number
    readonly byLayer: Record<string, number>
    readonly byDataType: Record<string, number>
  }
  readonly estimatedProviderRequests: number
  /** Symbols per final layer, "0".."3". */
  readonly finalLayers: Record<string, number>
}

const bump = (o: Record<string, number>, k: string, by = 1): void => {
  o[k] = (o[k] ?? 0) + by
}

/** Keys in a stable order, so the JSON and text reports are byte-identical across runs. */
const sorted = (o: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

export const summarise = (run: ReplayRun, config: EstimateConfig): ReplaySummary => {
  const transitions: Record<string, number> = {}
  for (const l of run.lifecycle) {
    const f = fieldRecord(l)
    bump(transitions, `${f["from"]}->${f["to"]}`)
  }
  const byLayer: Record<string, number> = {}
  const byDataType: Record<string, number> = {}
  let requests = 0
  for (const c of run.backfill) {
    const f = fieldRecord(c)
    const layer = Number(f["layer"]) as Layer
    const dataTypes = (f["data_types"] ?? "").split(",").filter((d) => d !== "")
    bump(byLayer, String(layer))
    for (const dt of dataTypes) bump(byDataType, dt)
    requests += estimateRequests(config, { layer, dataTypes, at: Number(f["at"]) })
  }
  const finalLayers: Record<string, number> = { "0": 0, "1": 0, "2": 0, "3": 0 }
  for (const layer of run.finalLayers.values()) bump(finalLayers, String(layer))
  return {
    ...run.counts,
    symbols: run.finalLayers.size,
    transitions: sorted(transitions),
    transitionsTotal: run.lifecycle.length,
    commands: { total: run.backfill.length, byLayer: sorted(byLayer), byDataType: sorted(byDataType) },
    estimatedProviderRequests: requests,
    finalLayers
  }
}
