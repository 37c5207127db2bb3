/** Key building: one hash slot per partition, prefixes kept apart, bad input refused. */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import calculateSlot from "cluster-key-slot"
import { hashTag, ingressKeys, partitionInputs, partitionKeys, routerKeys } from "../../streams/keys.ts"
import { MAX_PARTITIONS } from "../../streams/partition.ts"
import { partitionTag } from "../../streams/partition-tags.ts"

const arbPrefix = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,64}$/)

describe("keys", () => {
  it("follows the public stream contract by default", () => {
    expect(ingressKeys()).toEqual({ scores: "strata:scores", scoresDead: "strata:scores:dead" })
    expect(partitionKeys("strata", 0).lifecycle).toBe("strata:{0}:lifecycle")
    expect(partitionKeys("strata", 0).lifecycleDead).toBe("strata:{0}:lifecycle:dead")
    expect(partitionKeys("strata", 0).backfill).toBe("strata:{0}:backfill")
  })

  const arbPartition = fc.integer({ min: 1, max: MAX_PARTITIONS }).chain((count) =>
    fc.record({ count: fc.constant(count), p: fc.integer({ min: 0, max: count - 1 }) }))
  const keysOf = (prefix: string, p: number, count: number): string[] =>
    Object.values(partitionKeys(prefix, p, count)).filter((v): v is string => typeof v === "string")

  test.prop([arbPrefix, arbPartition])(
    "every key of a partition shares that partition's hash tag",
    (prefix, { count, p }) => {
      const keys = partitionKeys(prefix, p, count)
      expect(keys.partition).toBe(p)
      expect(keys.count).toBe(count)
      expect(new Set(keysOf(prefix, p, count).map(hashTag))).toEqual(new Set([partitionTag(p, count)]))
    }
  )

  test.prop([arbPrefix, fc.integer({ min: 1, max: MAX_PARTITIONS })])("partition 0 keeps the tag {0} at every count", (prefix, count) => {
    expect(keysOf(prefix, 0, count)).toEqual(keysOf(prefix, 0, 1))
    expect(partitionKeys(prefix, 0, count).lifecycle).toBe(`${prefix}:{0}:lifecycle`)
  })

  test.prop([arbPrefix, arbPrefix, arbPartition, arbPartition])(
    "keys of different prefixes or partitions never collide",
    (a, b, x, y) => {
      // Within one count partitions differ; across counts only partition 0 is shared on purpose.
      fc.pre(a !== b || (x.count === y.count && x.p !== y.p))
      const kb = new Set(keysOf(b, y.p, y.count))
      for (const k of keysOf(a, x.p, x.count)) expect(kb.has(k)).toBe(false)
    }
  )

  test.prop([fc.string().filter((s) => !/^[a-zA-Z0-9_.-]{1,64}$/.test(s))])("refuses prefixes that could break out of the namespace", (bad) => {
    expect(() => ingressKeys(bad)).toThrow(/invalid key prefix/)
  })

  it("names a partition's direct scores stream beside its router-filled one", () => {
    expect(partitionKeys("strata", 0, 4).scoresDirect).toBe("strata:{0}:scores:direct")
    expect(partitionInputs("strata", partitionKeys("strata", 0, 1))).toEqual(["strata:scores"])
  })

  test.prop([arbPrefix, arbPartition.filter(({ count }) => count > 1)])(
    "a partitioned install's engine reads its router-filled and its direct stream, in one slot, apart from every other key",
    (prefix, { count, p }) => {
      const keys = partitionKeys(prefix, p, count)
      const inputs = partitionInputs(prefix, keys)
      expect(inputs).toEqual([keys.scores, keys.scoresDirect])
      expect(new Set(inputs.map((k) => calculateSlot(k))).size).toBe(1)
      // No other key of the install is the direct stream: the router never writes it.
      const others = [...keysOf(prefix, p, count).filter((k) => k !== keys.scoresDirect),
        ...Object.values(ingressKeys(prefix)), ...Object.values(routerKeys(prefix))]
      expect(others).not.toContain(keys.scoresDirect)
      expect(new Set(keysOf(prefix, p, count)).size).toBe(keysOf(prefix, p, count).length)
    }
  )

  it("refuses partitions outside the install's count", () => {
    expect(() => partitionKeys("strata", -1)).toThrow(/invalid partition/)
    expect(() => partitionKeys("strata", 1.5, 4)).toThrow(/invalid partition/)
    expect(() => partitionKeys("strata", 1)).toThrow(/invalid partition/)
    expect(() => partitionKeys("strata", 24, 24)).toThrow(/invalid partition/)
    expect(() => partitionKeys("strata", 0, 0)).toThrow(/invalid partition count/)
  })
})
