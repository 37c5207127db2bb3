/**
 * The configuration as a service: the decoded `Config` of config/schema.ts, resolved once
 * at a process's entry (config/load.ts: defaults → file → environment → overrides) and
 * read by every layer and program below it.
 * Does not load or validate anything itself: config/load.ts does, with its precise errors.
 */
import { Context, Layer } from "effect"
import type { Config } from "../../config/schema.ts"

export class ConfigService extends Context.Service<ConfigService, Config>()("strata/Config") {
  /** The service for a configuration already loaded (entries load it first, to fail fast with exit 2). */
  static readonly layer = (config: Config): Layer.Layer<ConfigService> => Layer.succeed(ConfigService, config)
}
