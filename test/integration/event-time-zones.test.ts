/**
 * Same recording, same outputs on every machine: a dry-run replay of entries whose `ts`
 * is ISO-8601 without a zone, run in child processes under TZ=UTC and
 * TZ=America/New_York, prints byte-identical lifecycle entries, backfill commands and
 * dead letters, with event times read as UTC; an impossible date is dead-lettered, not
 * rolled into the next month. (No Redis: the child processes are the real part.)
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { fieldRecord } from "../../streams/entry.ts"

const run = promisify(execFile)
const ROOT = new URL("../..", import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), "strata-tz-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Two qualifying events qualify a symbol for L1; the second one's ts is the transition's at.
const ENTRIES = [
  { id: "1767600000000-0", fields: ["symbol", "AAPL", "liquidity", "0.91", "ts", "2026-01-05T14:30:00"] },
  { id: "1767600000000-1", fields: ["symbol", "AAPL", "liquidity", "0.92", "ts", "2026-01-05 14:31"] },
  { id: "1767600000000-2", fields: ["symbol", "MSFT", "liquidity", "0.91", "ts", "2026-02-27T10:00:00"] },
  { id: "1767600000000-3", fields: ["symbol", "MSFT", "liquidity", "0.92", "ts", "2026-02-30T10:00:00"] },
  { id: "1767600000000-4", fields: ["symbol", "MSFT", "liquidity", "0.93", "ts", "2026-02-28T10:00:00.250"] }
]

const dryRunUnder = async (tz: string, recording: string): Promise<string> =>
  (await run(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "test/helpers/dry-run-print.ts"), recording], {
    cwd: ROOT, env: { ...process.env, TZ: tz }, timeout: 120_000
  })).stdout

describe("event time across time zones", () => {
  it("gives byte-identical outputs under TZ=UTC and TZ=America/New_York, zone-less times read as UTC", async () => {
    const recording = join(dir, "zone-less.ndjson")
    writeFileSync(recording, ENTRIES.map((e) => `${JSON.stringify(e)}\n`).join(""))
    const [utc, newYork] = await Promise.all([dryRunUnder("UTC", recording), dryRunUnder("America/New_York", recording)])
    expect(newYork).toBe(utc)
    const out = JSON.parse(utc) as { lifecycle: string[][]; dead: string[][] }
    expect(out.lifecycle.map((l) => [fieldRecord(l)["symbol"], Number(fieldRecord(l)["at"])])).toEqual([
      ["AAPL", Date.UTC(2026, 0, 5, 14, 31)],
      // Stale: MSFT's first event moves the stream time past AAPL's last score + stale_after.
      ["AAPL", Date.UTC(2026, 1, 27, 10, 0)],
      ["MSFT", Date.UTC(2026, 1, 28, 10, 0, 0, 250)]
    ])
    // 2026-02-30 is no date: refused, never read as 2 March.
    expect(out.dead.map((d) => [d[1]?.slice(0, 32), d[3]])).toEqual([['invalid ts "2026-02-30T10:00:00"', "1767600000000-3"]])
  }, 180_000)
})
