/** `migrate compare` against a real PostgreSQL: counts per layer and every differing symbol. */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { compareLegacy } from "../../src/engine/legacy-compare.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

describe("migrate compare", () => {
  let ns: TestNamespace
  beforeEach(async () => {
    ns = await testNamespaceWith(COMPANIES_DDL)
  })
  afterEach(async () => ns.cleanup())

  it("counts each table's layers and lists the symbols that differ", async () => {
    await ns.sql`CREATE TABLE scanner_qualifications (symbol text, layer_qualified int, retention_days int, liquidity_score float8)`
    await ns.sql`INSERT INTO scanner_qualifications VALUES ('AAPL', 1, 60, 0.9), ('MSFT', 2, 90, 0.8), ('msft ', 1, 60, 0.8), ('OLD', 1, 60, 0.2)`
    await ns.sql`INSERT INTO companies (symbol, layer, layer1_qualified, layer2_qualified) VALUES ('AAPL', 1, true, false), ('MSFT', 3, true, true), ('NEW', 1, true, false)`
    const report = await compareLegacy(ns.sql)
    expect(report.counts).toEqual([
      { layer: 1, legacy: 3, companies: 3 },
      { layer: 2, legacy: 1, companies: 1 },
      { layer: 3, legacy: 0, companies: 1 }
    ])
    expect(report.differences).toEqual([
      { symbol: "MSFT", legacyLayer: 2, companiesLayer: 3 },
      { symbol: "NEW", legacyLayer: null, companiesLayer: 1 },
      { symbol: "OLD", legacyLayer: 1, companiesLayer: null }
    ])
  })

  it("says so when the legacy table is missing, and refuses odd table names", async () => {
    await expect(compareLegacy(ns.sql)).rejects.toThrow(/scanner_qualifications does not exist/)
    await expect(compareLegacy(ns.sql, "x; DROP TABLE companies")).rejects.toThrow(/invalid table name/)
  })
})
