/**
 * The scanner archive off the engine's event loop: one worker thread per engine process
 * (archive-worker.ts) runs the archive passes with its own Redis connection and object
 * store, so that reading, encoding and verifying parts cost the engine's loop nothing but
 * a message per chunk. The engine's thread stays the leases' authority (for the ingress
 * stream partition 0's, or the router's in a partitioned install: archiveKeys in
 * streams/keys.ts; for a partition's direct stream that partition's lease, as this engine
 * holds it): it answers each of the thread's holder questions with its own local view
 * (archiveHolder: owner and epoch while a quarter of the TTL is left, else none), and the
 * mark's script refuses a stale holder anyway. It logs each pass the thread reports, with
 * the engine's logger.
 * A thread that throws or exits is restarted on a capped, jittered exponential schedule,
 * its reason logged; the engine never goes down with it. Interrupting the fiber (the
 * engine's scope closing: SIGTERM, shutdown) asks the thread to stop, waits for it, and
 * terminates it after a grace time; an interrupted pass leaves at most unverified parts past
 * the mark, which the next pass replaces.
 * Does not archive anything itself (archiver.ts does, in the thread).
 */
import { Worker } from "node:worker_threads"
import { Data, Effect, Schedule } from "effect"
import type { Config } from "../../config/schema.ts"
import type { Lease } from "../../streams/lease.ts"
import type { Logger } from "../services/logger.ts"
import type { ArchiveThreadData, FromArchiveThread, ToArchiveThread } from "./archive-protocol.ts"
import { archiveHolder, logPassOutcome } from "./archiver.ts"

export class ArchiveThreadStopped extends Data.TaggedError("ArchiveThreadStopped")<{ readonly reason: string }> {}

/** From a quarter of a second, doubling, jittered, at most 30 s between restarts. */
export const ARCHIVE_RESTART = Schedule.min([Schedule.exponential("250 millis").pipe(Schedule.jittered), Schedule.spaced("30 seconds")])

/** How long a stopping thread may take to finish its current request and close its connections. */
const STOP_GRACE_MS = 10_000

const ENTRY = new URL("./archive-worker.js", import.meta.url)

/** The lease of a partition's direct stream as this engine holds it (undefined: not held here). */
export type PartitionLeaseOf = (partition: number) => Lease | undefined

/**
 * The process's node options without a `--import tsx`: the thread registers tsx itself,
 * after lowering its priority, so that the loader's thread it starts inherits that priority
 * (and no module goes through two tsx loaders). Other options (--cpu-prof, ...) are kept.
 */
export const withoutTsxImport = (argv: readonly string[]): string[] => {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if ((a === "--import" || a === "--loader") && /^tsx(\/|$)/.test(argv[i + 1] ?? "")) i++
    else if (!/^--(import|loader)=tsx(\/|$)/.test(a)) out.push(a)
  }
  return out
}

/** One thread's life: fails with the reason it stopped; interrupted, stops it and waits. */
const runThread = (data: ArchiveThreadData, lease: Lease, partitionLease: PartitionLeaseOf, log: Logger) =>
  Effect.callback<never, ArchiveThreadStopped>((resume) => {
    let worker: Worker
    try {
      worker = new Worker(ENTRY, { workerData: data, name: "strata-archive", execArgv: withoutTsxImport(process.execArgv) })
    } catch (e) {
      resume(Effect.fail(new ArchiveThreadStopped({ reason: `could not start: ${e instanceof Error ? e.message : String(e)}` })))
      return
    }
    let stopping = false
    const exit = new Promise<number>((resolve) => worker.once("exit", resolve))
    worker.on("message", (m: FromArchiveThread) => {
      if (m.type === "holder?") {
        // Stopping: no holder, so the pass in flight writes nothing more.
        const asked = m.partition === undefined ? lease : partitionLease(m.partition)
        const reply: ToArchiveThread = { type: "holder", seq: m.seq, holder: stopping || !asked ? undefined : archiveHolder(asked) }
        worker.postMessage(reply)
      } else if (m.type === "pass") logPassOutcome(log, m.outcome)
      else if (m.type === "priority") {
        if (m.error === undefined) log.info({ threadId: worker.threadId, tid: m.tid, nice: m.nice }, "archive thread priority")
        else log.warn({ threadId: worker.threadId, nice: data.config.archive.nice, err: m.error }, "archive thread runs at the engine's priority: it could not lower its own")
      } else log.debug({ connection: "strata-archive", err: m.message }, "redis connection error")
    })
    worker.once("online", () => log.info({ threadId: worker.threadId }, "archive thread started"))
    worker.once("error", (e) => resume(Effect.fail(new ArchiveThreadStopped({ reason: `threw: ${e instanceof Error ? e.message : String(e)}` }))))
    void exit.then((code) => resume(Effect.fail(new ArchiveThreadStopped({ reason: `exited with code ${code}` }))))
    return Effect.promise(async () => {
      stopping = true
      let terminated = false
      worker.postMessage({ type: "stop" } satisfies ToArchiveThread)
      const timer = setTimeout(() => {
        terminated = true
        log.warn({ graceMs: STOP_GRACE_MS }, "archive thread did not stop in time; terminating it")
        void worker.terminate()
      }, STOP_GRACE_MS)
      const code = await exit
      clearTimeout(timer)
      log.info({ exitCode: code, terminated }, "archive thread stopped with the engine")
    })
  })

/**
 * The archive thread for as long as the calling fiber runs (fork it in the engine's scope).
 * `redisUrl`: the Redis the engine resolved (a private server's when none is configured).
 * `partitionLease`: in a partitioned install, the leases of the partitions this engine holds
 * (none given: it archives no direct stream).
 */
export const archiveThread = (
  config: Config, deps: { readonly redisUrl: string; readonly lease: Lease; readonly partitionLease?: PartitionLeaseOf; readonly log: Logger }
) => {
  const data: ArchiveThreadData = { config: { ...config, redis: { ...config.redis, url: deps.redisUrl } } }
  let restarts = 0
  return runThread(data, deps.lease, deps.partitionLease ?? (() => undefined), deps.log).pipe(

    Effect.tapError((e) => Effect.sync(() => {
      restarts += 1
      deps.log.error({ reason: e.reason, restarts }, "archive thread stopped; restarting it")
    })),
    Effect.retry(ARCHIVE_RESTART)
  )
}
