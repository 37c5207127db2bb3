/**
 * Crash test for the ingress router: a router process is killed with SIGKILL at seeded
 * instants (once the partition streams have grown past a seeded mark, and at seeded
 * delays, start-up included) while 20,000 entries flow into the ingress stream, and
 * started again each time. At the end the partition streams hold exactly the ingress
 * entries, each once, under its own ID and fields, each partition in ascending ID order,
 * and nothing is pending on the router's group.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, expect, it } from "vitest"
import { prng } from "../../fixtures/workload.ts"
import { pollUntil } from "../../src/services/poll.ts"
import { readAll } from "../../streams/stream-read.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { killRuns } from "../helpers/processes.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const N = 8
const TOTAL = 20_000
const KILLS = 5
const OVERRIDES = { partitions: N, ingest: { batch_size: 200, block_ms: 100 }, lease: { ttl_ms: 1000 } }
const rand = prng(20261201)
const childArgs = ["--import", "tsx", "test/helpers/router-child.ts"]

let ns: TestNamespace
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  ns = await testNamespace(OVERRIDES)
  env = { ...ns.env, LOG_LEVEL: "silent", ROUTER_OVERRIDES: JSON.stringify(OVERRIDES) }
})

afterAll(async () => {
  await ns?.cleanup()
})

const partition = (p: number) => partitionKeys(ns.prefix, p, N)

/** Entries in all partition streams: grows only while a router copies. */
const copied = async (): Promise<number> => {
  const pipeline = ns.redis.pipeline()
  for (let p = 0; p < N; p++) pipeline.xlen(partition(p).scores)
  return ((await pipeline.exec()) ?? []).reduce((n, [, len]) => n + Number(len), 0)
}

const entriesOf = async (stream: string): Promise<StreamEntry[]> => {
  const out: StreamEntry[] = []
  for await (const e of readAll(ns.redis, stream)) out.push(e)
  return out
}

it(`routes ${TOTAL} entries exactly once, in order, through ${KILLS} kill -9 of the router`, async () => {
  const scores = ingressKeys(ns.prefix).scores
  const produce = (async () => {
    const wrand = prng(7)
    for (let sent = 0; sent < TOTAL; sent += 250) {
      const pipeline = ns.redis.pipeline()
      for (let i = 0; i < 250; i++) {
        pipeline.xadd(scores, "*", ...scoresFields(`S${Math.floor(wrand() * 300)}`, { momentum: (wrand() * 100).toFixed(2) }))
      }
      await pipeline.exec()
      await new Promise((r) => setTimeout(r, 25))
    }
  })()

  const { kills, midway } = await killRuns({ args: childArgs, cwd: ROOT, env, kills: KILLS, rand, progress: copied, step: 1500 })
  await produce
  expect(kills).toBeGreaterThanOrEqual(KILLS)
  expect(midway).toBeGreaterThanOrEqual(2)

  // A last router, left to finish.
  const last = spawn(process.execPath, childArgs, { cwd: ROOT, env, stdio: "ignore" })
  try {
    await pollUntil("the router to copy every entry", async () => (await copied()) >= TOTAL &&
      Number(((await ns.redis.xpending(scores, GROUPS.router)) as [number])[0]) === 0, 150_000, 100)
  } finally {
    last.kill("SIGKILL")
  }

  const sent = await entriesOf(scores)
  expect(sent.length).toBe(TOTAL)
  const union: StreamEntry[] = []
  for (let p = 0; p < N; p++) {
    const entries = await entriesOf(partition(p).scores)
    const ids = entries.map((e) => e.id)
    const want = sent.filter((e) => symbolPartition(e.fields[1] as string, N) === p)
    // Same entries, same order: ascending, no duplicate, none missing, fields as sent.
    expect(ids, `partition ${p}`).toEqual(want.map((e) => e.id))
    expect(entries, `partition ${p}`).toEqual(want)
    union.push(...entries)
  }
  expect(union.length).toBe(TOTAL)
})
