/**
 * The archive thread's own side (a `node:worker_threads` Worker, started by
 * archive-thread.ts through archive-worker.js): the archive loop with a Redis connection and
 * an object store of its own, built from the configuration it was started with, so that
 * reading, encoding and verifying parts never run on the engine's event loop. It archives
 * the ingress stream and, in a partitioned install, every partition's direct stream
 * (archiver.ts `archiveTargetsWith`); each stream's lease holder is asked from the engine's
 * thread before every chunk, and only the partitions the engine holds get one. Each pass's outcome is posted
 * back, and the engine's thread logs it. On "stop" the loop is interrupted, its connections
 * close, and the thread ends by itself.
 * Does not take, renew or trust a lease of its own, and does not log (it posts what happened).
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect, Fiber } from "effect"
import type { LeaseHolder } from "../../streams/lease.ts"
import { openRedis } from "../services/redis.ts"
import { openObjectStore } from "../storage/object-store.ts"
import { archiveFaults } from "./archive-faults.ts"
import type { ArchiveThreadData, FromArchiveThread, ToArchiveThread } from "./archive-protocol.ts"
import { archiveEvery, archiveFiber, archiveTargetsWith } from "./archiver.ts"


const port = parentPort
if (!port) throw new Error("archive-worker.ts runs as a worker thread (see archive-thread.ts)")
const { config } = workerData as ArchiveThreadData
const post = (m: FromArchiveThread) => port.postMessage(m)

const redis = openRedis(config.redis.url, "strata-archive")
// The connection reconnects by itself; its commands fail meanwhile, which fails the pass.
redis.on("error", (e: Error) => post({ type: "redis-error", message: e.message }))
const store = openObjectStore(config.storage)

let seq = 0
const asked = new Map<number, (h: LeaseHolder | undefined) => void>()
const holder = (partition?: number) => new Promise<LeaseHolder | undefined>((resolve) => {
  seq += 1
  asked.set(seq, resolve)
  post(partition === undefined ? { type: "holder?", seq } : { type: "holder?", seq, partition })
})

const faults = archiveFaults()
const targets = archiveTargetsWith(config, { redis, store, holder, ...(faults ? { faults } : {}) })
const loop = Effect.runFork(archiveFiber(targets, archiveEvery(config), (outcome) => post({ type: "pass", outcome })))

port.on("message", (m: ToArchiveThread) => {
  if (m.type === "holder") {
    asked.get(m.seq)?.(m.holder)
    asked.delete(m.seq)
    return
  }
  // A pass waiting for the holder when asked to stop: it gets none, and writes nothing more.
  for (const resolve of asked.values()) resolve(undefined)
  asked.clear()
  void Effect.runPromise(Fiber.interrupt(loop))
    .then(() => redis.quit().then(() => undefined, () => redis.disconnect()))
    .then(() => store.close())
    .finally(() => port.close())
})
