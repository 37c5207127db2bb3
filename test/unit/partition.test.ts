/**
 * A symbol's partition: the documented hash (pinned against values computed independently
 * with the Python of docs/partitions.md), normalised like the scores decoder, in range,
 * deterministic and evenly spread.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { MAX_PARTITIONS, symbolPartition } from "../../streams/partition.ts"

/**
 * Computed with python3 on the documented definition:
 * int.from_bytes(hashlib.sha256(s.strip().upper().encode()).digest()[:4], "big") % n
 */
const PINNED: readonly [string, number, number][] = [
  ["AAPL", 24, 10],
  ["MSFT", 24, 7],
  ["BRK.B", 24, 21],
  [" tsla ", 24, 10],
  ["RDS-A", 12, 4],
  ["AAPL", 1, 0],
  ["AAPL", 64, 34],
  ["0", 7, 6],
  ["ABCDEFGHIJKLMNO", 200, 183],
  ["X", 256, 56],
  ["NVDA", 256, 242]
]

const arbSymbol = fc.stringMatching(/^[A-Z0-9][A-Z0-9.-]{0,14}$/)

/** The Python of docs/partitions.md, as a user would copy it. */
const DOCS_PYTHON = /```python\n([\s\S]*?)```/.exec(readFileSync(new URL("../../docs/partitions.md", import.meta.url), "utf8"))?.[1] ?? ""
const HAS_PYTHON = spawnSync("python3", ["--version"]).status === 0

describe("symbol partition", () => {
  it("matches the documented hash, as Python computes it", () => {
    for (const [symbol, count, partition] of PINNED) expect([symbol, count, symbolPartition(symbol, count)]).toEqual([symbol, count, partition])
  })

  it.skipIf(!HAS_PYTHON)("agrees with the Python of docs/partitions.md on random symbols and counts", () => {
    expect(DOCS_PYTHON).toMatch(/def partition\(symbol: str, count: int\) -> int:/)
    const cases = fc.sample(fc.tuple(arbSymbol, fc.constantFrom("", " ", "\t"), fc.boolean(), fc.integer({ min: 1, max: 256 })), { seed: 4104, numRuns: 300 })
      .map(([s, pad, lower, count]) => [pad + (lower ? s.toLowerCase() : s) + pad, count] as const)
    const script = `${DOCS_PYTHON}\nimport json, sys\nprint(json.dumps([partition(s, n) for s, n in json.load(sys.stdin)]))\n`
    const run = spawnSync("python3", ["-c", script], { input: JSON.stringify(cases), encoding: "utf8" })
    expect(run.stderr).toBe("")
    expect(JSON.parse(run.stdout) as number[]).toEqual(cases.map(([s, n]) => symbolPartition(s, n)))
  })

  it("refuses a partition count outside [1, MAX_PARTITIONS]", () => {
    for (const bad of [0, -1, 1.5, MAX_PARTITIONS + 1, Number.NaN]) expect(() => symbolPartition("AAPL", bad)).toThrow(/invalid partition count/)
  })

  test.prop([arbSymbol, fc.integer({ min: 1, max: MAX_PARTITIONS })], { seed: 4101, numRuns: 500 })(
    "lies in [0, count) and is the same on every call",
    (symbol, count) => {
      const p = symbolPartition(symbol, count)
      expect(Number.isInteger(p) && p >= 0 && p < count).toBe(true)
      expect(symbolPartition(symbol, count)).toBe(p)
    }
  )

  test.prop([arbSymbol, fc.array(fc.boolean(), { maxLength: 15 }), fc.constantFrom("", " ", "\t", "  \n"), fc.integer({ min: 1, max: 64 })], { seed: 4102, numRuns: 300 })(
    "normalises like the scores decoder: case and surrounding spaces do not move a symbol",
    (symbol, lower, pad, count) => {
      const raw = pad + [...symbol].map((c, i) => (lower[i] ? c.toLowerCase() : c)).join("") + pad
      expect(symbolPartition(raw, count)).toBe(symbolPartition(symbol, count))
    }
  )

  test.prop([fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })], { seed: 4103, numRuns: 40 })(
    "spreads a random symbol set evenly over 1..64 partitions (chi-square within a loose bound)",
    (count, seed) => {
      const n = 40 * count
      const symbols = fc.sample(fc.uniqueArray(arbSymbol, { minLength: n, maxLength: n }), { seed, numRuns: 1 })[0] ?? []
      expect(symbols.length).toBe(n)
      const observed = new Array<number>(count).fill(0)
      for (const s of symbols) observed[symbolPartition(s, count)]! += 1
      const expected = n / count
      const chi2 = observed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0)
      const df = count - 1
      // Mean df, standard deviation sqrt(2 df): six of them above the mean, plus slack for small df.
      expect(chi2).toBeLessThanOrEqual(df + 6 * Math.sqrt(2 * df) + 10)
    }
  )
})
