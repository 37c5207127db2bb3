/**
 * The verdict of one PING round on Redis (src/services/infrastructure.ts): a PONG is an
 * answer; otherwise the first error event the client emitted says why before the command's
 * own failure does; the message never holds the password. No I/O.
 */
import { describe, expect, it } from "vitest"
import { pingVerdict } from "../../src/services/infrastructure.ts"

const url = "redis://:s3cret@127.0.0.1:6390"
const closed = Object.assign(new Error("Connection is closed."), {})
const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6390"), { code: "ECONNREFUSED" })

describe("pingVerdict", () => {
  it("a PONG is an answer", () => {
    expect(pingVerdict(url, { pong: "PONG" })).toBeUndefined()
  })

  it("any other reply to PING is a failure that names it", () => {
    const e = pingVerdict(url, { pong: "LOADING" })
    expect(e?.kind).toBe("unreachable")
    expect(e?.message).toContain("PING answered LOADING")
  })

  it("the first error event says why, not the command's 'Connection is closed'", () => {
    const e = pingVerdict(url, { failed: closed, firstEvent: new Error("WRONGPASS invalid username-password pair or user is disabled.") })
    expect(e?.kind).toBe("auth")
    expect(e?.message).toContain("WRONGPASS")
  })

  it("NOAUTH on the error event is a missing password", () => {
    const e = pingVerdict("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", { failed: new Error("None of startup nodes is available"), firstEvent: new Error("NOAUTH Authentication required.") })
    expect(e?.kind).toBe("auth")
    expect(e?.message).toContain("redis+cluster://:PASSWORD@")
  })

  it("without an error event the command's own failure is classified", () => {
    const e = pingVerdict(url, { failed: refused })
    expect(e?.kind).toBe("unreachable")
    expect(e?.message).toContain("ECONNREFUSED")
  })

  it("no message carries the password", () => {
    for (const outcome of [{ pong: "NO" }, { failed: refused }, { failed: closed, firstEvent: new Error("WRONGPASS x") }]) {
      expect(pingVerdict(url, outcome)?.message).not.toContain("s3cret")
    }
  })
})
