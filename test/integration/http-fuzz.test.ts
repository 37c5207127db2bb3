/**
 * No request can crash the HTTP port: a real ops server (with /api/bars over PostgreSQL
 * and the lake) runs in a process of its own, and seeded random requests are written to
 * it over raw TCP sockets — odd request targets (`//`, `%zz`, very long, unicode,
 * absolute-form, `*`), methods, headers and bodies, sent whole, cut short or abandoned.
 * After each one the process must still be alive and answer /healthz.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { connect } from "node:net"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { STORAGE_DDL, localObjectStore, writeRows } from "../../src/storage/index.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const T0 = Date.UTC(2024, 0, 1)

let ns: TestNamespace
let child: ChildProcess
let port = 0
let exited: string | undefined
let output = ""

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  const deps = { sql: ns.sql, store: localObjectStore(ns.config.storage.lake) }
  await writeRows(deps, "bars", sampleBars("AAPL", "1hour", T0, 2_000), T0 + 1_000 * 3_600_000)
  child = spawn(process.execPath, ["--import", "tsx", "test/helpers/ops-server-child.ts"], {
    cwd: ROOT, env: { ...ns.env, LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"]
  })
  child.stderr?.on("data", (c: Buffer) => { output = (output + c.toString()).slice(-8_000) })
  child.once("exit", (code, signal) => { exited = `exited with ${code ?? signal}; stderr: ${output}` })
  port = await new Promise<number>((resolve, reject) => {
    let out = ""
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /listening (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once("exit", () => reject(new Error(`ops server child ${exited}`)))
  })
}, 120_000)

afterAll(async () => {
  if (child && exited === undefined) {
    const gone = new Promise((r) => child.once("exit", r))
    child.kill("SIGTERM")
    await gone
  }
  await ns?.cleanup()
})

type Ending = "whole" | "cut" | "abandon"

/**
 * Write raw bytes, then wait for the server to answer or close. `cut` closes our side
 * after half the bytes (an aborted request); `abandon` destroys the socket once the
 * bytes are written, without reading. Resolves with whatever came back.
 */
const rawRequest = (bytes: Buffer, ending: Ending, waitMs = 1_000): Promise<string> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    let got = ""
    let timer: NodeJS.Timeout | undefined
    const finish = () => {
      if (timer) clearTimeout(timer)
      socket.destroy()
      resolve(got)
    }
    socket.on("data", (c) => { got += c.toString("latin1") })
    socket.on("error", finish)
    socket.on("close", finish)
    socket.on("connect", () => {
      if (ending === "cut") {
        socket.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => socket.destroy())
        return
      }
      socket.write(bytes, () => {
        if (ending === "abandon") return socket.destroy()
        // The server may wait for a body that never comes: give it a bounded time to answer.
        timer = setTimeout(finish, waitMs)
      })
    })
  })

const healthz = async (): Promise<string> =>
  rawRequest(Buffer.from("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "whole")

// Request targets built from the pieces URL parsers trip on (a leading "//" or "\\" reads
// as an authority, an odd port or bracket as a bad host).
const pieces = fc.tuple(
  fc.constantFrom("/", "//", "/\\", "\\\\", "http://", "http://x", "//x"),
  fc.array(
    fc.constantFrom("/", "//", "%", "%zz", "%00", "?", "&", "=", "#", "..", "@", ":", ":99999", "[", "]", "\\", "\u00e9", "api/bars", "healthz"),
    { maxLength: 5 }
  )
).map(([first, rest]) => first + rest.join(""))

const target = fc.oneof(
  { weight: 3, arbitrary: pieces },
  fc.constantFrom(
    "//", "///", "//x", "/%zz", "/%", "/api/bars?symbol=%zz&interval=%E0%A4%A", "*", "http://x/", "http://x/healthz",
    "http://[::1/", "https://user:pw@x:99999/", "/api/bars?symbol=AAPL&interval=1hour&from=-1e400&to=1e999",
    "/api/bars?symbol=AAPL&interval=1hour&from=0&to=9007199254740991", "/api/bars?symbol=AAPL&interval=1hour&limit=-1",
    "/api/bars?symbol=AAPL&interval=1hour&limit=1e9&next=%00%FF", "/api/bars?symbol=AAPL&interval=1hour&next=zz&from=2024-01-01",
    "/api/bars?symbol=AAPL&symbol=MSFT&interval=1hour&interval=1day", "/boom", "/readyz", "/metrics", "/../../etc/passwd",
    "/?#", "/\u00e9t\u00e9/\u{1F600}", "/api/bars?symbol=\u0130\u0131&interval=1hour", `/${"a".repeat(20_000)}`,
    `/api/bars?symbol=${"A".repeat(8_000)}&interval=1hour`, "", " ", "/\t/", "/\0"
  ),
  fc.string({ unit: "binary", maxLength: 60 }).map((s) => `/${s}`),
  fc.string({ unit: "grapheme", maxLength: 40 })
)

const method = fc.oneof({ weight: 4, arbitrary: fc.constant("GET") }, fc.constantFrom("HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", "FOO", "get", "G\0T", ""))

const header = fc.constantFrom(
  "Host: x", "Host: x\r\nHost: y", "Content-Length: 5", "Content-Length: -1", "Content-Length: abc", "Content-Length: 99999999999999999999",
  "Content-Length: 10\r\nContent-Length: 20", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked\r\nContent-Length: 3",
  "Transfer-Encoding: gzip, chunked", "Expect: 100-continue", "Connection: Upgrade\r\nUpgrade: websocket", "Connection: keep-alive",
  "Connection: close", `X-Long: ${"v".repeat(70_000)}`, "X-Unicode: \u00e9\u{1F600}", "Bad Header: x", ": empty name", "X-Nul: a\0b",
  "Accept: */*", "Range: bytes=0-1"
)

const body = fc.oneof(
  fc.constant(""),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constant("5\r\nhello\r\n0\r\n\r\n"),
  fc.constant("zz\r\nnot a chunk\r\n"),
  // A body far larger than any answer, named here and built when sent (short failure reports).
  fc.constant("<300 kB>")
)
const bodyBytes = (b: string) => Buffer.from(b === "<300 kB>" ? "x".repeat(300_000) : b, "latin1")

const version = fc.oneof({ weight: 4, arbitrary: fc.constant("HTTP/1.1") }, fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "", "ICY"))

// Most requests carry Host (Node refuses HTTP/1.1 without one before any handler runs) and
// ask the server to close after answering, so each one ends as soon as it is answered.
const headers = fc.tuple(fc.boolean(), fc.nat(9), fc.array(header, { maxLength: 4 })).map(([close, host, extra]) => [
  ...(host > 0 ? ["Host: x"] : []), ...(close ? ["Connection: close"] : []), ...extra
])

const request = fc.record({
  method, target, version, headers, body,
  ending: fc.constantFrom<Ending>("whole", "whole", "cut", "abandon")
})

describe("HTTP port under hostile requests", () => {
  it("keeps answering /healthz after every request (seeded)", async () => {
    expect(await healthz()).toMatch(/^HTTP\/1\.1 200/)
    const answered: string[] = []
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const head = `${r.method} ${r.target} ${r.version}\r\n${r.headers.map((h) => `${h}\r\n`).join("")}\r\n`
        const answer = await rawRequest(Buffer.concat([Buffer.from(head, "utf8"), bodyBytes(r.body)]), r.ending)
        answered.push(answer.slice(0, 12))
        expect(exited).toBeUndefined()
        expect(await healthz()).toMatch(/^HTTP\/1\.1 200/)
      }),
      { seed: 8_080, numRuns: 200, endOnFailure: true }
    )
    // Requests reached the routes and the guard, not only Node's parser (which answers 400/431).
    const statuses = new Set(answered.map((a) => a.slice(9, 12)))
    for (const s of ["400", "404", "405"]) expect(statuses).toContain(s)
  }, 600_000)

  it("answers 400 to a request target it cannot parse, and 405 with Allow to other methods", async () => {
    expect(await rawRequest(Buffer.from("GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "whole")).toMatch(/^HTTP\/1\.1 400/)
    const post = await rawRequest(Buffer.from("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"), "whole")
    expect(post).toMatch(/^HTTP\/1\.1 405/)
    expect(post).toMatch(/\r\nallow: GET, HEAD\r\n/i)
    expect(await rawRequest(Buffer.from("GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "whole")).toMatch(/^HTTP\/1\.1 500/)
    const head = await rawRequest(Buffer.from("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "whole")
    expect(head).toMatch(/^HTTP\/1\.1 200/)
    expect(head.split("\r\n\r\n")[1]).toBe("")
    expect(exited).toBeUndefined()
  })
})
