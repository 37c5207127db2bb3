/**
 * The messages between the engine's thread and its archive thread (src/engine/archive-thread.ts
 * and archive-worker.ts), plus what the thread is started with. The engine's lease stays the
 * authority: the archive thread asks for the holder before every chunk (of the ingress stream,
 * or of a partition's direct stream) and gets the engine's current local view (owner and
 * epoch, or none); the mark's script is fenced on it anyway.

 * Does not send anything itself.
 */
import type { Config } from "../../config/schema.ts"
import type { LeaseHolder } from "../../streams/lease.ts"
import type { PassOutcome } from "./archiver.ts"

/** `workerData` of the archive thread: the configuration with the Redis URL the engine resolved. */
export interface ArchiveThreadData {
  readonly config: Config
}

export type ToArchiveThread =
  | { readonly type: "holder"; readonly seq: number; readonly holder: LeaseHolder | undefined }
  /** Finish: the current pass is interrupted (crash-safe: the mark had not moved), connections close. */
  | { readonly type: "stop" }

export type FromArchiveThread =
  /** The lease of the ingress stream's archive (`partition` undefined), or of that partition's direct stream. */
  | { readonly type: "holder?"; readonly seq: number; readonly partition?: number }
  | { readonly type: "pass"; readonly outcome: PassOutcome }
  /** The thread's Redis connection reported an error (it reconnects by itself); logged at debug level. */
  | { readonly type: "redis-error"; readonly message: string }
  /** The nice value the thread runs at (archive-worker.js), or why it could not lower it. */
  | { readonly type: "priority"; readonly nice: number | undefined; readonly tid: number | undefined; readonly error?: string }
