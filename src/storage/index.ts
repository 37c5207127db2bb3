/**
 * The storage layer's public surface and its combined DDL (hot tables, coverage ledger,
 * manifest of cold objects), run through `migrate(sql, schema, STORAGE_DDL)` from
 * src/services/postgres.ts.
 */
import { COVERAGE_DDL } from "./coverage.ts"
import { HOT_DDL } from "./hot-store.ts"
import { MANIFEST_DDL } from "./manifest.ts"

export const STORAGE_DDL: readonly string[] = [...HOT_DDL, ...COVERAGE_DDL, ...MANIFEST_DDL]

export { HOT_DDL, HOT_TABLES, writeHot, readHot, deleteHot, countHot, hotSeries } from "./hot-store.ts"
export { COVERAGE_DDL, recordCoverage, coveredRanges, coverageByTier, clearCoverage, retierCoverage } from "./coverage.ts"
export type { CoverageEntry, Tier } from "./coverage.ts"
export { writeCold, readCold, readObject, coldKeys, coldChunks, removeColdRange } from "./cold-store.ts"
export type { Lake, Lock } from "./cold-store.ts"
export { MANIFEST_DDL } from "./manifest.ts"
export { localObjectStore, s3ObjectStore, openObjectStore } from "./object-store.ts"
export type { ObjectStore, ByteRange } from "./object-store.ts"
export { writeRows } from "./write-router.ts"
export type { StorageDeps, RoutedWrite } from "./write-router.ts"
export { partKey, seriesPrefix } from "./layout.ts"
