/**
 * The one interface every data provider implements: fetch the rows of one storage kind
 * (and bar interval) of one symbol in [from, to). A provider makes its requests through
 * the shared rate limiter it is given and fails only with the tagged errors of
 * ../errors.ts. Does not write, record coverage or retry: the worker does.
 */
import type { RowsOf, StorageKind } from "../../domain/rows.ts"
import type { CoverageInterval } from "../planner.ts"

export interface FetchRequest {
  readonly symbol: string
  readonly kind: StorageKind
  readonly interval: CoverageInterval
  readonly from: number
  readonly to: number
}

export interface FetchResult<K extends StorageKind = StorageKind> {
  readonly rows: readonly RowsOf[K][]
  /** Requests made (pages included). */
  readonly requests: number
}

export interface Provider {
  readonly name: string
  /** False for what the provider has no source of (a task of that kind is skipped). */
  readonly supports: (kind: StorageKind, interval: CoverageInterval) => boolean
  readonly fetch: <K extends StorageKind>(req: FetchRequest & { readonly kind: K }) => Promise<FetchResult<K>>
}
