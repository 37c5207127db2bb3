/**
 * Private servers shared by every Strata process on one data folder: each process that
 * uses the server under `dir` (an engine, `strata workers`, a one-shot command) records
 * itself in `dir/users/`, and the last one out stops the server. A user whose process
 * died (kill -9, a crash) is ignored and its record removed, so a crash never keeps a
 * server up for ever nor stops it under a live user. Acquire and release hold a lock
 * file in `dir`, so a process that starts using the server while another leaves either
 * finds it running and registered, or starts a fresh one.
 * Does not start or stop servers itself: the caller passes how (private-servers.ts).
 */
import { randomBytes } from "node:crypto"
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeSync } from "node:fs"
import { join } from "node:path"
import { pollUntil } from "./poll.ts"
import { isAlive, type PrivateServer } from "./private-servers.ts"

const LOCK_WAIT_MS = 120_000

/** The process's start time (Linux), so a pid reused by an unrelated process is not a user. */
const startTime = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    // No /proc (not Linux): the pid alone identifies the process.
    return undefined
  }
}

interface UserRecord { readonly pid: number; readonly started?: string | undefined; readonly what: string }

const live = (u: UserRecord): boolean => isAlive(u.pid) && (u.started === undefined || startTime(u.pid) === u.started)

/** Run `f` holding `dir/users.lock`; a lock left by a dead process is taken over. */
const withLock = async <A>(dir: string, f: () => Promise<A>): Promise<A> => {
  mkdirSync(dir, { recursive: true })
  const lock = join(dir, "users.lock")
  const tryTake = (): boolean => {
    try {
      const fd = openSync(lock, "wx")
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      const holder = Number(readFileSync(lock, "utf8") || "NaN")
      // Written between open and write, or left by a process that died holding it.
      if (Number.isInteger(holder) && !isAlive(holder)) rmSync(lock, { force: true })
      return false
    }
  }
  await pollUntil(`the lock ${lock}`, tryTake, LOCK_WAIT_MS, 25)
  try {
    return await f()
  } finally {
    rmSync(lock, { force: true })
  }
}

/** The live users recorded under `dir`; records of dead processes are removed. */
export const serverUsers = (dir: string): UserRecord[] => {
  const users = join(dir, "users")
  if (!existsSync(users)) return []
  const out: UserRecord[] = []
  for (const name of readdirSync(users)) {
    const file = join(users, name)
    let u: UserRecord | undefined
    try {
      u = JSON.parse(readFileSync(file, "utf8")) as UserRecord
    } catch {
      // Half written by a process that died while writing it: not a user.
      u = undefined
    }
    if (u !== undefined && live(u)) out.push(u)
    else rmSync(file, { force: true })
  }
  return out
}

export interface SharedServer {
  readonly server: PrivateServer
  /** Other live processes using the server when this one began to. */
  readonly others: number
  /** Stop using it: the server is stopped when no other live process uses it. */
  readonly release: () => Promise<{ readonly stopped: boolean; readonly others: number }>
}

/**
 * Use the server under `dir`: `start` starts it or reuses the one running there; this
 * process is recorded as a user until `release`.
 */
export const acquireShared = (dir: string, what: string, start: () => Promise<PrivateServer>): Promise<SharedServer> =>
  withLock(dir, async () => {
    const server = await start()
    const users = join(dir, "users")
    mkdirSync(users, { recursive: true })
    const others = serverUsers(dir).length
    const file = join(users, `${process.pid}-${randomBytes(4).toString("hex")}.json`)
    const record: UserRecord = { pid: process.pid, started: startTime(process.pid), what }
    const fd = openSync(file, "wx")
    writeSync(fd, JSON.stringify(record))
    closeSync(fd)
    return {
      server,
      others,
      release: () => withLock(dir, async () => {
        try {
          unlinkSync(file)
        } catch {
          // Removed already (a cleanup of the folder): this process is not a user either way.
        }
        const remaining = serverUsers(dir).length
        if (remaining > 0) return { stopped: false, others: remaining }
        await server.stop()
        return { stopped: true, others: 0 }
      })
    }
  })
