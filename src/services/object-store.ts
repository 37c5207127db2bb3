/**
 * The object store (the cold tier's local folder or S3 bucket) as a service: opened from
 * `storage` in the configuration when the layer is built, its clients released when the
 * layer's scope closes.
 * Does not implement the store: src/storage/object-store.ts does (it knows no services).
 */
import { Context, Effect, Layer } from "effect"
import { openObjectStore, type ObjectStore } from "../storage/object-store.ts"
import { ConfigService } from "./config.ts"

export class ObjectStoreService extends Context.Service<ObjectStoreService, ObjectStore>()("strata/ObjectStore") {
  static readonly layer: Layer.Layer<ObjectStoreService, never, ConfigService> =
    Layer.effect(ObjectStoreService, Effect.gen(function* () {
      const { storage } = yield* ConfigService
      return yield* Effect.acquireRelease(Effect.sync(() => openObjectStore(storage)), (s) => Effect.promise(() => s.close()))
    }))
}
