/**
 * The import rules of STYLE.md, checked on the source text: no import cycles; the machine
 * knows xstate and the domain only; the domain is a leaf; storage and streams do not
 * import each other; outside streams/ a stream entry is built and read only through each
 * stream's encoder and decoder (no entry type or field fold of its own, none of a wire
 * module's patterns or limits), every stream is read through streams/consumer.ts or
 * streams/stream-read.ts and written only with an encoder's fields; engine and backfill,
 * peers joined by the backfill stream, do not import each other; only the application layer (src/app/) wires processes,
 * and only the entry points (src/cli/, bench/) start one.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const DIRS = ["config", "machines", "streams", "src", "bench", "fixtures"]

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : walk(path)
    return path.endsWith(".ts") ? [path] : []
  })

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm

interface Edge { readonly to: string; readonly typeOnly: boolean }

const NAMED_IMPORT = /^\s*import\s+(?:type\s+)?\{([^}]*)\}\s*from\s+["']([^"']+)["']/gm

const graph = new Map<string, Edge[]>()
const external = new Map<string, string[]>()
const texts = new Map<string, string>()
/** file → [imported file, imported name] */
const named = new Map<string, [string, string][]>()
for (const file of DIRS.flatMap((d) => walk(join(ROOT, d)))) {
  const rel = relative(ROOT, file)
  const text = readFileSync(file, "utf8")
  const edges: Edge[] = []
  const ext: string[] = []
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3] ?? ""
    if (spec.startsWith(".")) edges.push({ to: relative(ROOT, resolve(dirname(file), spec)), typeOnly: Boolean(m[1]) })
    else ext.push(spec)
  }
  graph.set(rel, edges)
  external.set(rel, ext)
  texts.set(rel, text)
  named.set(rel, [...text.matchAll(NAMED_IMPORT)].flatMap((m) => {
    const spec = m[2] ?? ""
    if (!spec.startsWith(".")) return []
    const to = relative(ROOT, resolve(dirname(file), spec))
    return (m[1] ?? "").split(",").map((n) => n.replace(/^\s*type\s+/, "").split(/\s+as\s+/)[0]?.trim() ?? "").filter((n) => n !== "").map((n): [string, string] => [to, n])
  }))
}

/** What each stream's module offers the rest of the code: its encoder, decoder and types. */
const WIRE_API: Record<string, readonly string[]> = {
  "streams/entry.ts": ["StreamEntry", "fieldRecord", "fieldValue"],
  "streams/scores-wire.ts": ["decodeScoresEntry", "scoresFields", "scoresSymbol", "scoresEventTime", "DecodeLimits", "DecodedScores", "Rejected"],
  "streams/lifecycle-wire.ts": ["lifecycleFields", "decodeLifecycleEntry", "Transition", "LifecycleEvent", "DecodedLifecycle", "staleCause", "causeEntryId"],
  "streams/backfill-wire.ts": ["commandFields", "decodeCommand", "BackfillCommand", "MANUAL_CAUSE"],
  "streams/dead-letter.ts": ["deadLetterFields", "parseDeadLetter", "DeadLetter", "DeadLetterCaps"],
  "streams/backfill-dead-letter.ts": ["deadLetterFields", "parseDeadLetter", "BackfillDeadLetter", "MAX_VALUE", "MAX_COPY"],
  "streams/stored-dead-letter.ts": ["parseStoredDeadLetter", "redriveOnce", "StoredDeadLetter", "DEAD_LETTER_SOURCES", "DeadLetterSource"]
}

/** The encoders whose fields may be written to a stream outside streams/. */
const ENCODERS = ["scoresFields", "lifecycleFields", "commandFields", "deadLetterFields"]

/**
 * The bench's raw-Redis baselines (a bare XREADGROUP consumer and relay): measuring Redis
 * without the engine's code is their purpose, so they alone talk to streams directly.
 */
const RAW_BASELINES = new Set(["bench/lib/relay-raw.ts", "bench/lib/raw-clients.ts", "bench/scenarios/throughput.ts"])

/**
 * Test data, deliberately including what no encoder writes (malformed scores for the dead
 * letter paths): built by hand as a careless producer would, so outside the wire rules.
 */
const FIXTURES = "fixtures/"

/** Stream commands that read: every reader goes through streams/consumer.ts or stream-read.ts. */
const STREAM_READ = /\.(xread|xreadgroup|xautoclaim|xclaim|xpending|xrange|xrevrange|xinfo)\(|redis\.call\(\s*["'`]X[A-Z]+/i
/** A pair walk over a flat name/value list (for (let i = 0; i + 1 < xs.length; i += 2)). */
const PAIR_WALK = /for\s*\(\s*let\s+(\w+)\s*=\s*\d+\s*;\s*\1\s*\+\s*1\s*<[^;]+;\s*\1\s*\+=\s*2\s*\)/
/** A field read or written by its position in an entry. */
const POSITIONAL = /\bfields\[\s*\d+\s*\]/

/** Where each `.xadd(` call's field arguments start: the text after its key and ID. */
const xaddCalls = (text: string): string[] => {
  const out: string[] = []
  for (const m of text.matchAll(/\.xadd\(/g)) {
    let depth = 0
    let commas = 0
    let i = (m.index ?? 0) + m[0].length
    const start = i
    for (; i < text.length; i++) {
      const c = text[i]
      if (c === "(" || c === "[" || c === "{") depth++
      else if (c === ")" || c === "]" || c === "}") {
        if (depth === 0) break
        depth--
      } else if (c === "," && depth === 0 && ++commas === 2) break
    }
    out.push(text.slice(i + 1, i + 200).trim() || text.slice(start, start + 200))
  }
  return out
}

const filesUnder = (prefix: string) => [...graph.keys()].filter((f) => f.startsWith(prefix))

describe("architecture", () => {
  it("reads the source tree", () => {
    expect(graph.size).toBeGreaterThan(20)
  })

  it("has no import cycles (type-only imports included)", () => {
    const state = new Map<string, "visiting" | "done">()
    const cycles: string[][] = []
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === "done") return
      if (state.get(node) === "visiting") {
        cycles.push([...path.slice(path.indexOf(node)), node])
        return
      }
      state.set(node, "visiting")
      for (const e of graph.get(node) ?? []) visit(e.to, [...path, node])
      state.set(node, "done")
    }
    for (const node of graph.keys()) visit(node, [])
    expect(cycles).toEqual([])
  })

  it("keeps machines/ pure: xstate and the domain only (not even config types)", () => {
    for (const f of filesUnder("machines/")) {
      for (const spec of external.get(f) ?? []) expect(`${f} → ${spec}`).toMatch(/→ xstate$/)
      for (const e of graph.get(f) ?? []) {
        const ok = e.to.startsWith("machines/") || e.to.startsWith("src/domain/")
        expect(ok, `${f} imports ${e.to}`).toBe(true)
      }
    }
  })

  it("keeps src/domain/ a leaf", () => {
    for (const f of filesUnder("src/domain/")) {
      expect(external.get(f) ?? [], f).toEqual([])
      for (const e of graph.get(f) ?? []) expect(e.to.startsWith("src/domain/"), `${f} imports ${e.to}`).toBe(true)
    }
  })

  it("keeps storage and streams apart", () => {
    for (const f of filesUnder("src/storage/")) for (const e of graph.get(f) ?? []) expect(e.to.startsWith("streams/"), `${f} imports ${e.to}`).toBe(false)
    for (const f of filesUnder("streams/")) for (const e of graph.get(f) ?? []) expect(e.to.startsWith("src/storage/"), `${f} imports ${e.to}`).toBe(false)
  })

  it("keeps stream entries' wire form inside streams/: others use only each stream's encoder and decoder", () => {
    const outside = [...graph.keys()].filter((f) => !f.startsWith("streams/"))
    for (const f of outside) {
      for (const [to, name] of named.get(f) ?? []) {
        const api = WIRE_API[to]
        if (api) expect(api.includes(name), `${f} imports ${name} from ${to}`).toBe(true)
      }
      const text = texts.get(f) ?? ""
      expect(/\binterface\s+(?:Stream)?Entry\b/.test(text), `${f} declares its own stream entry type`).toBe(false)
      expect(/\bfieldMap\b/.test(text), `${f} folds stream entries with a fieldMap of its own`).toBe(false)
    }
  })

  it("talks to streams only through streams/: reads through consumer.ts / stream-read.ts, scripts in streams/lua", () => {
    for (const f of [...graph.keys()].filter((f) => !f.startsWith("streams/") && !f.startsWith(FIXTURES) && !RAW_BASELINES.has(f))) {
      const m = STREAM_READ.exec(texts.get(f) ?? "")
      expect(m?.[0], `${f} calls ${m?.[0]} itself instead of going through streams/ (consumer.ts or stream-read.ts for reads)`).toBeUndefined()
    }
  })

  it("writes stream entries only with a stream's encoder, or as a verbatim copy of an entry's fields", () => {
    const allowed = new RegExp(`^\\.\\.\\.(?:(?:${ENCODERS.join("|")})\\(|[\\w.]+\\.fields\\b)`)
    for (const f of [...graph.keys()].filter((f) => !f.startsWith("streams/") && !f.startsWith(FIXTURES) && !RAW_BASELINES.has(f))) {
      for (const args of xaddCalls(texts.get(f) ?? "")) expect(allowed.test(args), `${f} writes XADD fields by hand: ${args.slice(0, 60)}`).toBe(true)
    }
  })

  it("folds no field list by hand outside streams/ (streams/entry.ts and the decoders do)", () => {
    for (const f of [...graph.keys()].filter((f) => !f.startsWith("streams/") && !f.startsWith(FIXTURES))) {
      const text = texts.get(f) ?? ""
      expect(PAIR_WALK.exec(text)?.[0], `${f} walks a field list pair by pair`).toBeUndefined()
      expect(POSITIONAL.exec(text)?.[0], `${f} reads or writes an entry's field by position`).toBeUndefined()
    }
  })

  it("keeps engine and backfill apart: peers joined by the backfill stream", () => {
    for (const f of filesUnder("src/engine/")) for (const e of graph.get(f) ?? []) expect(e.to.startsWith("src/backfill/"), `${f} imports ${e.to}`).toBe(false)
    for (const f of filesUnder("src/backfill/")) for (const e of graph.get(f) ?? []) expect(e.to.startsWith("src/engine/"), `${f} imports ${e.to}`).toBe(false)
  })

  it("keeps the engine below the HTTP face: engine/ imports no http/", () => {
    for (const f of filesUnder("src/engine/")) for (const e of graph.get(f) ?? []) expect(e.to.startsWith("src/http/"), `${f} imports ${e.to}`).toBe(false)
  })

  it("wires processes only in src/app/, started only by the entry points (src/cli/, bench/)", () => {
    for (const [f, edges] of graph) {
      const entry = f.startsWith("src/cli/") || f.startsWith("src/app/") || f.startsWith("bench/")
      for (const e of edges) if (e.to.startsWith("src/app/")) expect(entry, `${f} imports ${e.to}`).toBe(true)
      // Resolving the servers a process runs on is wiring too (one-shot commands resolve them in
      // src/cli/connect.ts); the service layers in src/services/ build on the Stores service.
      const resolves = edges.some((e) => e.to === "src/services/infrastructure.ts")
      if (resolves) {
        expect(f.startsWith("src/cli/") || f.startsWith("src/app/") || f.startsWith("src/services/"), `${f} resolves the infrastructure of a process`).toBe(true)
      }
    }
    expect(filesUnder("src/app/").length, "the application layer").toBeGreaterThan(0)
  })

  it("keeps fixtures out of the shipped code: nothing under src/, streams/, machines/ or config/ imports fixtures/", () => {
    for (const [f, edges] of graph) {
      if (f.startsWith("bench/") || f.startsWith(FIXTURES)) continue
      for (const e of edges) expect(e.to.startsWith(FIXTURES), `${f} imports ${e.to}`).toBe(false)
    }
  })
})
