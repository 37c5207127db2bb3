/**
 * The one interface every data provider implements: fetch the rows of one storage kind
 * (and bar interval) of one symbol in [from, to). A provider makes its requests through
 * the shared rate limiter it is given and fails only with the tagged errors of
 * ../errors.ts. Does not write, record coverage or retry: the worker does.
 * A fetch is given the task's session, which outlives a failed attempt: the provider
 * counts every request it makes there (failed ones too), and a paged provider keeps the
 * pages already read and its cursor there, so a retry resumes at the page that failed.
 */
import type { RowsOf, StorageKind } from "../../domain/rows.ts"
import type { SeriesInterval, SeriesRange } from "../../domain/series.ts"

/** A request is a range of a series. */
export type FetchRequest = SeriesRange

export interface FetchResult<K extends StorageKind = StorageKind> {
  readonly rows: readonly RowsOf[K][]
  /** Requests made (pages included). */
  readonly requests: number
}

/** Where one paged request stands: results read so far, the next page (none: complete). */
export interface PagedState {
  readonly results: unknown[]
  next: string | undefined
}

export interface FetchSession {
  /** Requests made, every attempt included (what the provider counts against the quota). */
  requests: number
  /** Paged requests by their first page's URL. */
  readonly pages: Map<string, PagedState>
}

export const newSession = (): FetchSession => ({ requests: 0, pages: new Map() })

export interface Provider {
  readonly name: string
  /** False for what the provider has no source of (a task of that kind is skipped). */
  readonly supports: (kind: StorageKind, interval: SeriesInterval) => boolean
  readonly fetch: <K extends StorageKind>(req: FetchRequest & { readonly kind: K }, session?: FetchSession) => Promise<FetchResult<K>>
}
