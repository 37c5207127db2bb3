/**
 * The layers a Strata process starts from: its configuration, its logger and the stores
 * they resolve to (configured URLs, else private servers). An entry point builds these
 * once and every program below reads its services from them.
 * Does not open clients: redis.ts, postgres.ts and object-store.ts layers do, over these.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import type { Config } from "../../config/schema.ts"
import { ConfigService } from "./config.ts"
import { StoresService, type Infrastructure, type StoresError } from "./infrastructure.ts"
import { LoggerService, type Logger } from "./logger.ts"

export type ProcessServices = ConfigService | LoggerService | StoresService

/** Config and logger as given; stores resolved here (private servers stop with the layer), or `urls` when already known. */
export const processLayer = (config: Config, log: Logger, urls?: Infrastructure) => {
  const base = Layer.mergeAll(ConfigService.layer(config), LoggerService.layer(log))
  return (urls === undefined ? StoresService.layer : StoresService.at(urls)).pipe(Layer.provideMerge(base))
}

/** Build `layer` into the current scope (released when it closes) and return its service `key`. */
export const acquire = <I, S, E, R>(layer: Layer.Layer<I, E, R>, key: Context.Key<I, S>): Effect.Effect<S, E, R | Scope.Scope> =>
  Layer.build(layer).pipe(Effect.map((ctx) => Context.get(ctx, key)))

/**
 * Run `program` with the process's services built into the current scope: they live as
 * long as that scope (a service's fibers keep running after `program` returns), not only
 * while `program` runs, as `Effect.provide` would have them.
 */
export const withProcess = (config: Config, log: Logger, urls?: Infrastructure) =>
  <A, E, R>(program: Effect.Effect<A, E, R>) =>
    Layer.build(processLayer(config, log, urls)).pipe(
      Effect.flatMap((services) => Effect.provideContext(program, services))
    ) as Effect.Effect<A, E | StoresError, Exclude<R, ProcessServices> | Scope.Scope>
