/**
 * Layers of the trading universe and the domain events a change of layer produces.
 * Pure values only: no I/O, no clock.
 */
export type Layer = 0 | 1 | 2 | 3

export const LAYERS: readonly Layer[] = [0, 1, 2, 3]
export const LAYER_NAMES = ["unqualified", "L1", "L2", "L3"] as const
export type LayerName = (typeof LAYER_NAMES)[number]

export const layerName = (layer: Layer): LayerName => LAYER_NAMES[layer]
export const layerOfName = (name: string): Layer => {
  const i = (LAYER_NAMES as readonly string[]).indexOf(name)
  if (i < 0) throw new Error(`unknown layer state "${name}"`)
  return i as Layer
}

export type LifecycleEventType =
  | "SymbolQualified"
  | "SymbolPromoted"
  | "SymbolDemoted"
  | "SymbolDisqualified"

/** The domain event a move from `from` to `to` is, by the public stream contract. */
export const lifecycleEventType = (from: Layer, to: Layer): LifecycleEventType => {
  if (from === to) throw new Error(`no lifecycle event for a move from ${from} to itself`)
  if (from === 0) return "SymbolQualified"
  if (to === 0) return "SymbolDisqualified"
  return to > from ? "SymbolPromoted" : "SymbolDemoted"
}
