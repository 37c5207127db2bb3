/**
 * Faults of the archive thread, for tests only: `STRATA_ARCHIVE_FAULT` names one, with a
 * folder the test watches (the thread reports through files, since a thread that holds
 * itself cannot answer anything else):
 * - `hold:<dir>`: the first chunk, once read, holds its thread (a synchronous wait, like a
 *   long encoding) until `<dir>/release` exists; `<dir>/held` says it started, `<dir>/released`
 *   that it ended. Shows that what holds the archive's thread does not hold the engine's.
 * - `crash:<dir>`: unless `<dir>/crashed` exists, the first chunk, its parts written and not
 *   yet counted by the mark, writes `<dir>/crashed` and throws out of the thread (uncaught):
 *   the engine restarts the thread, whose retried chunk replaces those parts.
 * - `stall:<dir>`: unless `<dir>/stalled` exists, the first chunk, its parts written and
 *   verified and not yet counted by the mark, writes `<dir>/stalled` and waits for good (the
 *   mark stays): the instant at which a test kills the process (kill -9 mid-chunk).
 * Unset (always, outside tests): no faults. Does not run a pass; the archiver calls it.
 */
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { ArchiveFaults } from "./archiver.ts"

/** A hold gives up after this long, so that a broken test cannot hold a thread forever. */
const HOLD_LIMIT_MS = 60_000

const holdThread = (dir: string): void => {
  writeFileSync(join(dir, "held"), "")
  const tick = new Int32Array(new SharedArrayBuffer(4))
  const until = performance.now() + HOLD_LIMIT_MS
  // Atomics.wait blocks the thread itself: nothing else of it runs meanwhile.
  while (!existsSync(join(dir, "release")) && performance.now() < until) Atomics.wait(tick, 0, 0, 5)
  writeFileSync(join(dir, "released"), "")
}

export const archiveFaults = (spec: string | undefined = process.env["STRATA_ARCHIVE_FAULT"]): ArchiveFaults | undefined => {
  const m = spec === undefined ? null : /^(hold|crash|stall):(.+)$/.exec(spec)
  if (!m) return undefined
  const dir = m[2] as string
  if (m[1] === "hold") {
    let held = false
    return { afterRead: () => { if (!held) { held = true; holdThread(dir) } } }
  }
  if (m[1] === "stall") {
    return {
      beforeMark: () => {
        const marker = join(dir, "stalled")
        if (existsSync(marker)) return Promise.resolve()
        writeFileSync(marker, "")
        return new Promise<void>(() => {})
      }
    }
  }
  return {
    beforeMark: () => {
      const marker = join(dir, "crashed")
      if (existsSync(marker)) return Promise.resolve()
      writeFileSync(marker, "")
      // Thrown outside any promise: the thread's uncaught exception, not a failed pass.
      setImmediate(() => { throw new Error("archive fault: crash before the mark moves") })
      return new Promise<void>(() => {})
    }
  }
}
