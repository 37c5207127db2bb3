/**
 * The import rules of STYLE.md, checked on the source text: no import cycles; the machine
 * knows no Redis, SQL, Node I/O or engine code; the domain is a leaf; storage and streams
 * do not import each other.
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

const graph = new Map<string, Edge[]>()
const external = new Map<string, string[]>()
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
})
