/**
 * The ingress router on a real 3-master Redis Cluster (started for this file): its lease,
 * its fenced reads and takeovers (the ingress stream's slot) and its per-partition copies
 * (each partition's slot, spread over the three masters) run without a CROSSSLOT refusal,
 * and every entry reaches its partition once, under its own ID.
 */
import { randomBytes } from "node:crypto"
import type { Redis } from "ioredis"
import { expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { prng } from "../../fixtures/workload.ts"
import { Router, routerLease } from "../../src/engine/router.ts"
import { createLogger } from "../../src/services/logger.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { DEFAULT_PARTITIONS } from "../../streams/partition-tags.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { useRedisCluster } from "../helpers/redis-cluster.ts"

const fixture = useRedisCluster({ masters: 3 })
const N = DEFAULT_PARTITIONS

it(`routes entries to ${N} partitions spread over three masters`, async () => {
  const prefix = `t${randomBytes(5).toString("hex")}`
  const config = loadConfig({ env: {}, overrides: { partitions: N, redis: { prefix }, ingest: { block_ms: 100 } } })
  // A Cluster client stands in for a connection: the router sends only commands whose keys share a slot.
  const writes = fixture.connect() as unknown as Redis
  const router = new Router(fixture.connect() as unknown as Redis, writes, config, createLogger("router-cluster-test", "silent"), routerLease(writes, config, "cluster:owner"))
  await router.init()
  expect((await router.lease.acquire()).held).toBe(true)

  const rand = prng(31)
  const ids: string[] = []
  for (let i = 0; i < 1000; i++) {
    ids.push(String(await writes.xadd(ingressKeys(prefix).scores, "*", ...scoresFields(`C${Math.floor(rand() * 200)}`, { momentum: i }))))
  }
  for (let idle = 0; router.stats.routed < ids.length;) {
    idle = (await router.runOnce()) === 0 ? idle + 1 : 0
    if (idle > 50) throw new Error(`router idle at ${router.stats.routed} of ${ids.length}`)
  }
  const copied: string[] = []
  for (let p = 0; p < N; p++) {
    for (const [id, fields] of await writes.xrange(partitionKeys(prefix, p, N).scores, "-", "+")) {
      expect(symbolPartition(fields[1] as string, N)).toBe(p)
      copied.push(id)
    }
  }
  expect(copied.sort()).toEqual([...ids].sort())
  expect(router.stats).toMatchObject({ copied: ids.length, dead: 0, fenced: 0 })
})
