/**
 * The import rules of STYLE.md, checked on the source text: no import cycles; the machine
 * knows no Redis, SQL, Node I/O or engine code; the domain is a leaf; storage and streams
 * do not import each other; outside streams/ a stream entry is built and read only through
 * each stream's encoder and decoder (no entry type or field fold of its own, none of a wire
 * module's patterns or limits).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const DIRS = ["config", "machines", "streams", "src", "bench"]

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
  "streams/scores-wire.ts": ["decodeScoresEntry", "DecodeLimits", "DecodedScores", "Rejected"],
  "streams/lifecycle-wire.ts": ["lifecycleFields", "decodeLifecycleEntry", "Transition", "LifecycleEvent", "DecodedLifecycle", "staleCause", "causeEntryId"],
  "streams/backfill-wire.ts": ["commandFields", "decodeCommand", "BackfillCommand", "MANUAL_CAUSE"],
  "streams/dead-letter.ts": ["deadLetterFields", "parseDeadLetter", "DeadLetter", "DeadLetterCaps"]
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

  it("keeps machines/ pure: xstate and the domain only (config types allowed)", () => {
    for (const f of filesUnder("machines/")) {
      for (const spec of external.get(f) ?? []) expect(`${f} → ${spec}`).toMatch(/→ xstate$/)
      for (const e of graph.get(f) ?? []) {
        const ok = e.to.startsWith("machines/") || e.to.startsWith("src/domain/") || (e.typeOnly && e.to === "config/schema.ts")
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
})
