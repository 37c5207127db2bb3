/**
 * The pieces of the engine a replay needs from a configuration: the lifecycle machine, the
 * score names and the decode limits, built exactly as the live ingest builds them, so a
 * replay runs the same code with the same parameters.
 */
import type { Config } from "../../config/schema.ts"
import { rulesFromConfig } from "../engine/lifecycle-rules.ts"
import { createLifecycle, type Lifecycle, type LifecycleState } from "../../machines/lifecycle.ts"
import { scoreNames } from "../../machines/rules.ts"
import type { BatchContext } from "../engine/batch.ts"
import { newStreamClock, type StreamClock } from "../engine/stream-clock.ts"

export interface ReplayMachine {
  readonly lifecycle: Lifecycle
  /** A batch context over these actors and this clock (a new clock when none is given). */
  readonly context: (snapshotOf: (symbol: string) => LifecycleState, clock?: StreamClock) => BatchContext
}

export const replayMachine = (config: Config): ReplayMachine => {
  const rules = rulesFromConfig(config.lifecycle)
  const lifecycle = createLifecycle(rules, config.ingest.step)
  const names = scoreNames(rules)
  const limits = { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length }
  return {
    lifecycle,
    context: (snapshotOf, clock = newStreamClock(lifecycle)) =>
      ({ lifecycle, scoreNames: names, retention: config.retention, limits, snapshotOf, clock })
  }
}
