/** Shared pieces of the pure machine tests: default rules, event builders, arbitraries. */
import fc from "fast-check"
import { loadConfig } from "../../config/load.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import type { LifecycleRules, ScoreEvent } from "../../machines/rules.ts"

export const DEFAULT_RULES: LifecycleRules = rulesFromConfig(loadConfig({ env: {} }).lifecycle)
export const MIN = 60_000
export const T0 = Date.UTC(2026, 0, 5, 14, 30)

export const scoreEvent = (at: number, scores: Record<string, number>, cause = `${at}-0`): ScoreEvent =>
  ({ type: "score", at, cause, scores })

/** A score in [0, 1] on a 0.01 grid, so thresholds are hit exactly now and then. */
export const arbScore = fc.integer({ min: 0, max: 100 }).map((n) => n / 100)

/** Events with optional scores and non-decreasing times (gaps up to an hour). */
export const arbEvents = (maxLength = 60) =>
  fc.array(
    fc.record({
      gap: fc.integer({ min: 0, max: 60 * MIN }),
      liquidity: fc.option(arbScore, { nil: undefined }),
      catalyst: fc.option(arbScore, { nil: undefined }),
      activity: fc.option(arbScore, { nil: undefined })
    }),
    { maxLength }
  ).map((specs) => {
    let at = T0
    return specs.map((s, i) => {
      at += s.gap
      const scores: Record<string, number> = {}
      if (s.liquidity !== undefined) scores["liquidity"] = s.liquidity
      if (s.catalyst !== undefined) scores["catalyst"] = s.catalyst
      if (s.activity !== undefined) scores["activity"] = s.activity
      return scoreEvent(at, scores, `${at}-${i}`)
    })
  })
