/**
 * The consumer `/api/overview` shows for a partition of a partitioned install: its engine
 * reads the router-filled and the direct stream, and a partition fed only directly (the
 * router-filled stream never written) still shows the consumer that reads it. A stream
 * whose consumers cannot be read is reported, not hidden, and the other stream still counts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { engineConsumer, type OverviewReadFailure } from "../../src/http/overview.ts"
import { ensureGroup, readGroup } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

describe("the overview's partition consumer", () => {
  let ns: TestNamespace
  beforeEach(async () => {
    ns = await testNamespace({ partitions: 4 })
  })
  afterEach(async () => {
    await ns.cleanup()
  })

  it("is found on the direct stream when the router-filled one holds nothing", async () => {
    const keys = partitionKeys(ns.prefix, 1, 4)
    await ensureGroup(ns.redis, keys.scoresDirect, GROUPS.engine)
    await ns.redis.xadd(keys.scoresDirect, "*", ...scoresFields("AA", { liquidity_score: 0.5 }, Date.UTC(2026, 0, 7, 15)))
    await readGroup(ns.redis, keys.scoresDirect, GROUPS.engine, "p1", 10, 0, ">")
    expect(await ns.redis.exists(keys.scores)).toBe(0)
    const failures: OverviewReadFailure[] = []
    expect(await engineConsumer(ns.redis, [keys.scores, keys.scoresDirect], (f) => failures.push(f))).toMatchObject({ consumer: "p1" })
    expect(failures).toEqual([])
  })

  it("is not a failure while the engine group does not exist yet", async () => {
    const keys = partitionKeys(ns.prefix, 1, 4)
    await ns.redis.xadd(keys.scores, "*", ...scoresFields("AA", { liquidity_score: 0.5 }, Date.UTC(2026, 0, 7, 15)))
    const failures: OverviewReadFailure[] = []
    expect(await engineConsumer(ns.redis, [keys.scores, keys.scoresDirect], (f) => failures.push(f))).toBeUndefined()
    expect(failures).toEqual([])
  })

  it("reports a stream whose consumers cannot be read and still shows the other stream's consumer", async () => {
    const keys = partitionKeys(ns.prefix, 1, 4)
    // The router-filled stream's key holds a string: XINFO CONSUMERS answers WRONGTYPE.
    await ns.redis.set(keys.scores, "not a stream")
    await ensureGroup(ns.redis, keys.scoresDirect, GROUPS.engine)
    await ns.redis.xadd(keys.scoresDirect, "*", ...scoresFields("AA", { liquidity_score: 0.5 }, Date.UTC(2026, 0, 7, 15)))
    await readGroup(ns.redis, keys.scoresDirect, GROUPS.engine, "p1", 10, 0, ">")
    const failures: OverviewReadFailure[] = []
    expect(await engineConsumer(ns.redis, [keys.scores, keys.scoresDirect], (f) => failures.push(f))).toMatchObject({ consumer: "p1" })
    expect(failures).toEqual([{ read: "consumers", key: keys.scores, error: expect.stringMatching(/WRONGTYPE/) }])
  })
})
