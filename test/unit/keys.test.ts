/** Key building: one hash slot per partition, prefixes kept apart, bad input refused. */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { hashTag, ingressKeys, partitionKeys } from "../../streams/keys.ts"

const arbPrefix = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,64}$/)

describe("keys", () => {
  it("follows the public stream contract by default", () => {
    expect(ingressKeys()).toEqual({ scores: "strata:scores", scoresDead: "strata:scores:dead" })
    expect(partitionKeys("strata", 0).lifecycle).toBe("strata:{0}:lifecycle")
    expect(partitionKeys("strata", 0).lifecycleDead).toBe("strata:{0}:lifecycle:dead")
    expect(partitionKeys("strata", 0).backfill).toBe("strata:{0}:backfill")
  })

  test.prop([arbPrefix, fc.integer({ min: 0, max: 16383 })])(
    "every key of a partition shares that partition's hash tag",
    (prefix, p) => {
      const keys = partitionKeys(prefix, p)
      const tags = Object.entries(keys).filter(([k]) => k !== "partition").map(([, v]) => hashTag(v as string))
      expect(new Set(tags)).toEqual(new Set([String(p)]))
    }
  )

  test.prop([arbPrefix, arbPrefix, fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 })])(
    "keys of different prefixes or partitions never collide",
    (a, b, p, q) => {
      fc.pre(a !== b || p !== q)
      const ka = Object.values(partitionKeys(a, p)).filter((v) => typeof v === "string")
      const kb = new Set(Object.values(partitionKeys(b, q)).filter((v) => typeof v === "string"))
      for (const k of ka) expect(kb.has(k)).toBe(false)
    }
  )

  test.prop([fc.string().filter((s) => !/^[a-zA-Z0-9_.-]{1,64}$/.test(s))])("refuses prefixes that could break out of the namespace", (bad) => {
    expect(() => ingressKeys(bad)).toThrow(/invalid key prefix/)
  })

  it("refuses partitions outside the Cluster slot range", () => {
    expect(() => partitionKeys("strata", -1)).toThrow(/invalid partition/)
    expect(() => partitionKeys("strata", 1.5)).toThrow(/invalid partition/)
  })
})
