/**
 * The storage layer's public surface and its combined DDL (hot tables + coverage ledger),
 * run through `migrate(sql, schema, STORAGE_DDL)` from src/services/postgres.ts.
 */
import { COVERAGE_DDL } from "./coverage.ts"
import { HOT_DDL } from "./hot-store.ts"

export const STORAGE_DDL: readonly string[] = [...HOT_DDL, ...COVERAGE_DDL]

export { HOT_DDL, HOT_TABLES, writeHot, readHot, deleteHot, countHot, hotSeries } from "./hot-store.ts"
export { COVERAGE_DDL, recordCoverage, coveredRanges, coverageByTier, clearCoverage, retierCoverage } from "./coverage.ts"
export type { CoverageEntry, Tier } from "./coverage.ts"
export { writeCold, readCold, readObject, coldKeys } from "./cold-store.ts"
export { localObjectStore, s3ObjectStore, openObjectStore } from "./object-store.ts"
export type { ObjectStore, ByteRange } from "./object-store.ts"
export { writeRows } from "./write-router.ts"
export type { StorageDeps, RoutedWrite } from "./write-router.ts"
export { objectKey, seriesPrefix } from "./layout.ts"
