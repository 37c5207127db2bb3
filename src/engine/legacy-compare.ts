/**
 * `migrate compare`: the legacy `scanner_qualifications` table (layer_qualified integer)
 * against the `companies` projection, the check the migration off the old table needs
 * (the old pipeline's two tables had drifted to 2,004 vs 1,505 "Layer 1" symbols).
 * Read only.
 */
import type { Sql } from "../services/postgres.ts"

export interface LayerCount {
  readonly layer: number
  /** Symbols qualified for this layer or above. */
  readonly legacy: number
  readonly companies: number
}

export interface LegacyDifference {
  readonly symbol: string
  /** null: the symbol is absent from that table. */
  readonly legacyLayer: number | null
  readonly companiesLayer: number | null
}

export interface LegacyReport {
  readonly table: string
  readonly counts: readonly LayerCount[]
  readonly differences: readonly LegacyDifference[]
}

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/

export const compareLegacy = async (sql: Sql, table = "scanner_qualifications"): Promise<LegacyReport> => {
  if (!TABLE_NAME.test(table)) throw new Error(`invalid table name "${table}"`)
  const exists = await sql`SELECT to_regclass(${table}) IS NOT NULL AS ok`
  if (!exists[0]?.["ok"]) throw new Error(`table ${table} does not exist in this database/schema`)
  // A symbol may hold several legacy rows: its highest layer counts, as the old backfill read it.
  const rows = await sql.unsafe<{ symbol: string; legacy_layer: number | null; companies_layer: number | null }[]>(`
    WITH legacy AS (SELECT upper(trim(symbol)) AS symbol, max(layer_qualified)::int AS layer FROM ${table} GROUP BY 1),
         current AS (SELECT symbol, layer::int AS layer FROM companies)
    SELECT coalesce(l.symbol, c.symbol) AS symbol, l.layer AS legacy_layer, c.layer AS companies_layer
    FROM legacy l FULL OUTER JOIN current c ON c.symbol = l.symbol
    ORDER BY 1`)
  const counts: LayerCount[] = [1, 2, 3].map((layer) => ({
    layer,
    legacy: rows.filter((r) => (r.legacy_layer ?? 0) >= layer).length,
    companies: rows.filter((r) => (r.companies_layer ?? 0) >= layer).length
  }))
  const differences = rows
    .filter((r) => (r.legacy_layer ?? 0) !== (r.companies_layer ?? 0))
    .map((r) => ({ symbol: r.symbol, legacyLayer: r.legacy_layer, companiesLayer: r.companies_layer }))
  return { table, counts, differences }
}
