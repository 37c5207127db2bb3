/**
 * The pure parts of record and replay: range bounds, the recording line format and its
 * errors, the provider-request estimate, and the stable text report.
 */
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { formatRecordingLine, parseRecordingLine, RecordingFormatError } from "../../src/replay/file.ts"
import { estimateRequests } from "../../src/replay/estimate.ts"
import { summaryText } from "../../src/replay/report.ts"
import { parseBound } from "../../src/replay/source.ts"
import { summarise } from "../../src/replay/summary.ts"

describe("parseBound", () => {
  it("passes entry IDs and milliseconds through, converts ISO-8601, opens when absent", () => {
    expect(parseBound("--from", "1767623400000-3", "-")).toBe("1767623400000-3")
    expect(parseBound("--from", "1767623400000", "-")).toBe("1767623400000")
    expect(parseBound("--to", "2026-01-05T14:30:00Z", "+")).toBe(String(Date.UTC(2026, 0, 5, 14, 30)))
    expect(parseBound("--to", undefined, "+")).toBe("+")
  })
  it("names the flag on nonsense", () => {
    expect(() => parseBound("--from", "yesterday", "-")).toThrow(/--from "yesterday"/)
  })
})

describe("recording lines", () => {
  it("round-trip an entry exactly", () => {
    const e = { id: "1767623400000-0", fields: ["symbol", "AAPL", "note", "a \"quoted\" ✓", "liquidity", "0.91"] }
    const line = formatRecordingLine(e)
    expect(line.endsWith("\n")).toBe(true)
    expect(parseRecordingLine(line.trim(), "f", 1)).toEqual(e)
  })
  it.each([
    ["not json", /not JSON/],
    [JSON.stringify({ id: "abc", fields: [] }), /expected/],
    [JSON.stringify({ id: "1-0", fields: ["symbol"] }), /even-length/],
    [JSON.stringify({ id: "1-0", fields: ["symbol", 3] }), /strings/]
  ])("rejects %s naming file and line", (text, message) => {
    expect(() => parseRecordingLine(text, "scores.ndjson", 7)).toThrow(RecordingFormatError)
    expect(() => parseRecordingLine(text, "scores.ndjson", 7)).toThrow(message)
    expect(() => parseRecordingLine(text, "scores.ndjson", 7)).toThrow(/^scores\.ndjson:7: /)
  })
})

describe("estimateRequests", () => {
  const config = loadConfig({ env: {} })
  const at = Date.UTC(2026, 0, 7, 15)
  it("grows with the layer and its data types, and with smaller chunks", () => {
    const l1 = estimateRequests(config, { layer: 1, dataTypes: ["market_data", "intraday", "news", "corporate_actions"], at })
    const l3 = estimateRequests(config, { layer: 3, dataTypes: ["market_data", "intraday", "news", "corporate_actions", "social_sentiment"], at })
    expect(l1).toBeGreaterThan(4)
    expect(l3).toBeGreaterThan(l1)
    expect(estimateRequests(config, { layer: 1, dataTypes: [], at })).toBe(0)
    const halved = { ...config, backfill: { ...config.backfill, chunk_days: Object.fromEntries(Object.entries(config.backfill.chunk_days).map(([k, v]) => [k, Math.max(1, Math.floor(v / 2))])) as typeof config.backfill.chunk_days } }
    expect(estimateRequests(halved, { layer: 1, dataTypes: ["intraday"], at })).toBeGreaterThan(estimateRequests(config, { layer: 1, dataTypes: ["intraday"], at }))
  })
})

describe("summary text", () => {
  it("is stable for the same run", () => {
    const config = loadConfig({ env: {} })
    const run = {
      counts: { events: 3, applied: 2, late: 0, dead: 1 },
      lifecycle: [["type", "SymbolQualified", "symbol", "A", "from", "0", "to", "1", "at", "1", "cause", "1-0"]],
      backfill: [["id", "bf-1-0", "symbol", "A", "layer", "1", "from", "0", "data_types", "market_data,news", "at", "1", "cause", "1-0", "priority", "1"]],
      dead: [["reason", "missing symbol", "source_id", "2-0"]],
      finalLayers: new Map([["A", 1 as const]])
    }
    const text = summaryText(summarise(run, config))
    expect(text).toBe(summaryText(summarise(run, config)))
    expect(text).toContain("unqualified → L1")
    expect(text).toContain("market_data")
  })
})
