/**
 * The set-up of the archive crash tests of a partitioned install: a namespace with the
 * given overrides, its lake, a config file holding the overrides (STRATA_CONFIG of every
 * engine child), `strata engine` children started on it, the child holding a lease, and a
 * close that kills every child started (SIGKILL) and removes the rest.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { stringify } from "yaml"
import { localObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { testNamespace, type TestNamespace } from "./namespace.ts"
import { exited, startEngineProcess } from "./processes.ts"

export interface CrashInstall {
  readonly ns: TestNamespace
  readonly store: ObjectStore
  /** A folder of the test's own (the config file lies in it). */
  readonly dir: string
  /** A `strata engine` child, with `extra` added to its environment. */
  readonly startEngine: (extra?: NodeJS.ProcessEnv) => ChildProcess
  /** The living child holding the lease at `leaseKey` now (owner ids are host:pid:random). */
  readonly holderOf: (leaseKey: string) => Promise<ChildProcess | undefined>
  readonly close: () => Promise<void>
}

export const crashInstall = async (overrides: Record<string, unknown>, o: {
  /** The test folder's name prefix. */
  readonly folder: string
  readonly logLevel: string
  /** The children's stderr: dropped, or the test's own. */
  readonly stderr: "ignore" | "inherit"
}): Promise<CrashInstall> => {
  const ns = await testNamespace(overrides)
  const store = localObjectStore(ns.config.storage.lake)
  const dir = mkdtempSync(join(tmpdir(), o.folder))
  writeFileSync(join(dir, "partitioned.yaml"), stringify(overrides))
  const env = { ...ns.env, LOG_LEVEL: o.logLevel, STRATA_CONFIG: join(dir, "partitioned.yaml") }
  const engines: ChildProcess[] = []
  return {
    ns, store, dir,
    startEngine: (extra = {}) => {
      const child = startEngineProcess({ ...env, ...extra }, o.stderr)
      engines.push(child)
      return child
    },
    holderOf: async (leaseKey) => {
      const owner = await ns.redis.hget(leaseKey, "owner")
      return owner === null ? undefined : engines.find((c) => c.exitCode === null && c.signalCode === null && owner.includes(`:${c.pid}:`))
    },
    close: async () => {
      for (const c of engines) {
        c.kill("SIGKILL")
        await exited(c)
      }
      await store.close()
      await ns.cleanup()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
