/** pollUntil: resolves when the check holds, names what it waited for on timeout, fails at once on a thrown check. */
import { describe, expect, it } from "vitest"
import { PollTimeout, pollUntil } from "../../src/services/poll.ts"

describe("pollUntil", () => {
  it("resolves once the check holds, after as many checks as it took", async () => {
    let n = 0
    await pollUntil("the fifth check", () => ++n >= 5, 10_000, 1)
    expect(n).toBe(5)
  })

  it("rejects with PollTimeout naming what it waited for", async () => {
    const err = await pollUntil("a condition that never holds", () => false, 50, 5).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PollTimeout)
    expect(String(err)).toMatch(/waiting for a condition that never holds/)
  })

  it("fails at once, with the check's own error, when the check throws", async () => {
    let n = 0
    const err = await pollUntil("x", () => {
      n++
      throw new Error("broken")
    }, 10_000, 1).catch((e: unknown) => e)
    expect(String(err)).toBe("Error: broken")
    expect(n).toBe(1)
  })
})
