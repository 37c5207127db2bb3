/**
 * The users of a shared private server (server-users.ts) on a real folder and real
 * processes: a record left by a process that died does not keep the server up, a live
 * other user does, and the last one out stops it.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { PrivateServer } from "../../src/services/private-servers.ts"
import { acquireShared, serverUsers } from "../../src/services/server-users.ts"

/** A stand-in for the server process: what matters here is who stops it, and when. */
const countingServer = () => {
  let stops = 0
  const server: PrivateServer = { url: "redis://127.0.0.1:1", port: 1, pid: 1, reused: false, stop: async () => { stops++ } }
  return { server, stops: () => stops }
}

describe("shared private server users", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-users-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("ignores a dead user's record, waits for a live one, and the last one out stops the server", async () => {
    const deadPid = spawnSync("true").pid
    mkdirSync(join(dir, "users"), { recursive: true })
    writeFileSync(join(dir, "users", `${deadPid}-dead.json`), JSON.stringify({ pid: deadPid, what: "redis-server" }))
    writeFileSync(join(dir, "users", "torn.json"), "{\"pid\":")
    const s = countingServer()

    const first = await acquireShared(dir, "redis-server", async () => s.server)
    expect(first.others).toBe(0)
    // Another live process uses it.
    const other = spawn("sleep", ["60"], { stdio: "ignore" })
    writeFileSync(join(dir, "users", `${other.pid}-other.json`), JSON.stringify({ pid: other.pid, what: "redis-server" }))
    const second = await acquireShared(dir, "redis-server", async () => s.server)
    expect(second.others).toBe(2)

    expect(await first.release()).toEqual({ stopped: false, others: 2 })
    expect(await second.release()).toEqual({ stopped: false, others: 1 })
    expect(s.stops()).toBe(0)
    other.kill("SIGKILL")
    await new Promise((r) => other.once("exit", r))
    // The other process died without releasing: the next one out stops the server.
    const third = await acquireShared(dir, "redis-server", async () => s.server)
    expect(third.others).toBe(0)
    expect(await third.release()).toEqual({ stopped: true, others: 0 })
    expect(s.stops()).toBe(1)
    expect(serverUsers(dir)).toEqual([])
  })
})
