/**
 * Routing on write: rows at or after `hotFrom` (the start of the layer's hot window) go to
 * PostgreSQL, older rows to Parquet in the object store. Both paths are idempotent on the
 * natural key, so a retried or repeated batch stores nothing twice.
 * Does not record coverage: the caller records the ranges it fetched once both writes
 * have succeeded (a crash in between only means the range is fetched again).
 */
import type { RowsOf, StorageKind } from "../domain/rows.ts"
import { rowTime } from "../domain/rows.ts"
import type { Sql } from "../services/postgres.ts"
import { writeCold } from "./cold-store.ts"
import { writeHot } from "./hot-store.ts"
import type { ObjectStore } from "./object-store.ts"

export interface StorageDeps {
  readonly sql: Sql
  readonly store: ObjectStore
}

export interface RoutedWrite {
  /** Rows newly inserted hot. */
  readonly hot: number
  /** Rows newly added cold. */
  readonly cold: number
  /** Cold objects written. */
  readonly objects: string[]
}

export const splitByTime = <K extends StorageKind>(kind: K, rows: readonly RowsOf[K][], hotFrom: number) => {
  const time = rowTime[kind] as (r: RowsOf[K]) => number
  const hot: RowsOf[K][] = []
  const cold: RowsOf[K][] = []
  for (const r of rows) (time(r) >= hotFrom ? hot : cold).push(r)
  return { hot, cold }
}

export const writeRows = async <K extends StorageKind>(
  deps: StorageDeps, kind: K, rows: readonly RowsOf[K][], hotFrom: number
): Promise<RoutedWrite> => {
  const { hot, cold } = splitByTime(kind, rows, hotFrom)
  const hotCount = await writeHot(deps.sql, kind, hot)
  const coldWrite = cold.length > 0
    ? await writeCold(deps, kind, cold)
    : { rows: 0, objects: [] }
  return { hot: hotCount, cold: coldWrite.rows, objects: coldWrite.objects }
}
