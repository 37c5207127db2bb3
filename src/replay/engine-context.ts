/**
 * The pieces of the engine a replay needs from a configuration: the lifecycle machine, the
 * score names and the decode limits, built exactly as the live ingest builds them, so a
 * replay runs the same code with the same parameters.
 */
import type { Config } from "../../config/schema.ts"
import { rulesFromConfig } from "../engine/lifecycle-rules.ts"
import { createLifecycle, type Lifecycle, type LifecycleSnapshot } from "../../machines/lifecycle.ts"
import { scoreNames } from "../../machines/rules.ts"
import type { BatchContext } from "../engine/batch.ts"

export interface ReplayMachine {
  readonly lifecycle: Lifecycle
  readonly context: (snapshotOf: (symbol: string) => LifecycleSnapshot) => BatchContext
}

export const replayMachine = (config: Config): ReplayMachine => {
  const rules = rulesFromConfig(config.lifecycle)
  const lifecycle = createLifecycle(rules)
  const names = scoreNames(rules)
  const limits = { maxFields: config.ingest.max_fields, maxValueLength: config.ingest.max_value_length }
  return {
    lifecycle,
    context: (snapshotOf) => ({ lifecycle, scoreNames: names, retention: config.retention, limits, snapshotOf })
  }
}
