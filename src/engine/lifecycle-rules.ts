/**
 * The machine's lifecycle rules from the decoded configuration: the one place the config's
 * shape meets the machine's, so machines/ knows only its own rules and the domain.
 */
import type { LifecycleConfig } from "../../config/schema.ts"
import type { LifecycleRules, LayerThreshold } from "../../machines/rules.ts"
import { parseDuration } from "../domain/time.ts"

const threshold = (l: LifecycleConfig["layers"]["L1"]): LayerThreshold => ({
  score: l.score, promoteAt: l.promote_at, demoteBelow: l.demote_below
})

export const rulesFromConfig = (c: LifecycleConfig): LifecycleRules => ({
  layers: [threshold(c.layers.L1), threshold(c.layers.L2), threshold(c.layers.L3)],
  confirmations: c.confirmations,
  minDwellMs: parseDuration(c.min_dwell) ?? 0,
  staleAfterMs: staleAfterMs(c.stale_after)
})

/** lifecycle.stale_after in ms of stream time; null when it is "off". */
export const staleAfterMs = (text: string): number | null =>
  text.trim() === "off" ? null : parseDuration(text) ?? null
