/**
 * The dead-letter reader: the contract's header by position (a copied field named
 * `reason` or `source_id` stays in the copy), the writer's extra fields, the truncation
 * flag, and the two older layouts (scores header-first without `truncated`, backfill
 * fields-first).
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { parseStoredDeadLetter as parseDeadLetter } from "../../streams/stored-dead-letter.ts"

const name = fc.oneof(fc.constantFrom("reason", "source_id", "truncated", "error", "deliveries", "symbol"), fc.string({ maxLength: 8 }))
const original = fc.array(fc.tuple(name, fc.string({ maxLength: 12 })), { maxLength: 6 }).map((ps) => ps.flat())
const id = fc.tuple(fc.nat(), fc.nat(9)).map(([a, b]) => `${a}-${b}`)

describe("parseDeadLetter", () => {
  test.prop([original, fc.string(), id, fc.boolean()], { seed: 15 })("reads the contract's header by position and keeps the copy whole", (orig, reason, sourceId, cut) => {
    const p = parseDeadLetter(["reason", reason, "source_id", sourceId, "truncated", cut ? "1" : "0", ...orig], "scores")
    expect(p).toEqual({ reason, sourceId, truncated: cut, extra: {}, original: orig, layout: "header" })
  })

  test.prop([original, id, fc.string(), fc.nat()], { seed: 15 })("reads the backfill writer's extra fields after the header", (orig, sourceId, error, deliveries) => {
    const p = parseDeadLetter(["reason", "failed", "source_id", sourceId, "truncated", "0", "error", error, "deliveries", String(deliveries), ...orig], "backfill")
    expect(p?.extra).toEqual({ error, deliveries: String(deliveries) })
    expect(p?.original).toEqual(orig)
  })

  test.prop([original, fc.string(), id], { seed: 15 })("reads the older scores layout (reason, source_id, fields)", (orig, reason, sourceId) => {
    fc.pre(orig[0] !== "truncated")
    const p = parseDeadLetter(["reason", reason, "source_id", sourceId, ...orig], "scores")
    expect(p).toEqual({ reason, sourceId, truncated: false, extra: {}, original: orig, layout: "scores-legacy" })
  })

  it("reads the older backfill layout (fields, error, deliveries, source_id)", () => {
    const fields = ["command_id", "c1", "symbol", "AAPL", "layer", "1", "error", "boom", "deliveries", "5", "source_id", "1-0"]
    expect(parseDeadLetter(fields, "backfill")).toEqual({
      reason: "given up after repeated failures", sourceId: "1-0", truncated: false,
      extra: { error: "boom", deliveries: "5" }, original: ["command_id", "c1", "symbol", "AAPL", "layer", "1"], layout: "backfill-legacy"
    })
  })

  it("marks a copy with a dangling name as truncated, and reads nothing from an unknown layout", () => {
    expect(parseDeadLetter(["reason", "r", "source_id", "1-0", "truncated", "0", "symbol"], "scores")?.truncated).toBe(true)
    expect(parseDeadLetter(["symbol", "AAPL", "liquidity", "0.9"], "scores")).toBeUndefined()
    expect(parseDeadLetter(["symbol", "AAPL", "error", "x", "deliveries", "1", "source_id", "1-0"], "scores")).toBeUndefined()
  })
})
