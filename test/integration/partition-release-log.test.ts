/**
 * Giving a partition up is not a failure: its projector is stopped before its connection
 * closes, so the projector's read cut short by the close is logged at debug as the
 * partition's end, never as "projector step failed". The partition's next holder projects
 * what was left.
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { partitionRunner, type PartitionRunner } from "../../src/engine/partition-runner.ts"
import { createLogger } from "../../src/services/logger.ts"
import { migrate } from "../../src/services/postgres.ts"
import { openRedis } from "../../src/services/redis.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const COUNT = 4
type Line = { readonly level: number; readonly msg: string; readonly [k: string]: unknown }
const lines: Line[] = []
const log = createLogger("test-partition-release", "debug", { write: (s: string) => { lines.push(JSON.parse(s) as Line) } })

let ns: TestNamespace
let scope: Scope.Closeable
let runner: PartitionRunner

beforeAll(async () => {
  ns = await testNamespace({ partitions: COUNT, backfill: { enabled: false }, ingest: { block_ms: 20_000 } })
  await migrate(ns.sql, ns.schema, COMPANIES_DDL)
  scope = Effect.runSync(Scope.make())
  const writes = openRedis(ns.redisUrl, "test-release-writes")
  await Effect.runPromise(Scope.addFinalizer(scope, Effect.promise(() => writes.quit())))
  runner = await Effect.runPromise(Scope.provide(scope)(partitionRunner({
    config: ns.config, log, writes, sql: ns.sql, owner: "release-test",
    // Closed at once: what a QUIT that fails falls back to, and what a step still in flight
    // after a QUIT meets (its acknowledgement on a closed connection).
    connection: (name) => Effect.acquireRelease(
      Effect.sync(() => openRedis(ns.redisUrl, `${ns.prefix}-${name}`)),
      (r) => Effect.sync(() => r.disconnect())
    ),
    loop: (_name, once) => Effect.tryPromise(once).pipe(Effect.retry({ times: 1_000_000 }), Effect.forever)
  })))
}, 60_000)

afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  await ns?.cleanup()
})

describe("a partition given up", () => {
  it("ends its projector without a failure logged", async () => {
    for (let p = 0; p < COUNT; p++) expect(await Effect.runPromise(runner.take(p))).toBe(true)
    // Each projector is blocked in its read (nothing to project; a read blocks for
    // ingest.block_ms, longer than the test) when its partition goes.
    await waitUntil("every projector is blocked in its read", async () => {
      const clients = String(await ns.redis.client("LIST")).split("\n")
      return Array.from({ length: COUNT }, (_, p) => `name=${ns.prefix}-strata-projector-${p} `)
        .every((name) => clients.some((c) => c.includes(name) && / flags=b /.test(c) && c.includes("cmd=xreadgroup")))
    }, 30_000)
    for (let p = 0; p < COUNT; p++) await Effect.runPromise(runner.release(p))
    expect(runner.held()).toEqual([])
    // Each cut-short read ends in one line: a failure, or the partition's end.
    const ended = () => lines.filter((l) => l.msg.includes("projector step failed") || l.msg.startsWith("projector stopped"))
    await waitUntil("each projector's read ended", () => ended().length >= COUNT, 30_000)
    expect(ended().map((l) => [l.level, l.msg.split(";")[0]])).toEqual(Array.from({ length: COUNT }, () => [20, "projector stopped with its partition"]))
  }, 60_000)
})
