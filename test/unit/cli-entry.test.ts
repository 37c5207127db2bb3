/**
 * The CLI entry stays cheap to start: src/cli/main.ts declares commands and options only,
 * importing commander and nothing else up front, so `strata --help` never loads the
 * engine, Effect or the drivers; each command's module is imported by its action. And the
 * ways the engine is launched put no process between the operator and the engine that
 * could swallow a signal: the bin spawns nothing, the npm scripts and the image's CMD
 * exec node.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const read = (path: string) => readFileSync(`${ROOT}${path}`, "utf8")
const STATIC_IMPORT = /^\s*import\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm

describe("CLI entry and launchers", () => {
  it("main.ts imports only commander (and a constant list) statically; every command's module is imported when it runs", () => {
    const main = read("src/cli/main.ts")
    // commander, and the one list of dead-letter sources (a constant, no imports of its own).
    expect([...main.matchAll(STATIC_IMPORT)].map((m) => m[1])).toEqual(["commander", "./dead-letter-sources.ts"])
    expect([...read("src/cli/dead-letter-sources.ts").matchAll(STATIC_IMPORT)]).toEqual([])
    const commands = [...main.matchAll(/\.command\("([a-z-]+)"\)/g)].length
    const lazy = [...main.matchAll(/\.action\(async \([^)]*\) => \(await import\("\.\/[a-z-]+\.ts"\)\)\./g)].length
    // `migrate`, `dead-letters`, `lake` and `partitions` are groups: their actions are on their subcommands.
    expect(lazy).toBe(commands - 4)
  })

  it("the bin runs the CLI in its own process; npm scripts exec node", () => {
    expect(read("bin/strata.js")).not.toMatch(/child_process|spawn|exec(File)?Sync/)
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts
    for (const name of ["engine", "workers", "reconcile", "strata"]) expect(scripts[name]).toMatch(/^exec node bin\/strata\.js\b/)
  })

  it("the image runs node itself (exec form, no npm or shell); compose restarts dead services", () => {
    const cmd = read("Dockerfile").split("\n").filter((l) => l.startsWith("CMD")).at(-1) ?? ""
    const argv = JSON.parse(cmd.slice(3).trim()) as string[]
    expect(argv.slice(0, 2)).toEqual(["node", "bin/strata.js"])
    const compose = parse(read("docker-compose.yml")) as { services: Record<string, { restart?: string; init?: boolean; entrypoint?: unknown }> }
    for (const [name, svc] of Object.entries(compose.services)) {
      // A one-shot job (the bucket's creation) ends on purpose and is not restarted.
      if (name === "minio-bucket") continue
      expect(svc.restart, name).toBe("unless-stopped")
    }
    expect(compose.services["engine"]?.init).toBe(true)
  })
})
