/**
 * Configuration resolution, in one visible order (lowest first):
 *   config/default.yaml  →  the user's YAML file  →  environment  →  explicit overrides.
 * The user's file is merged over the defaults key by key, then the whole is decoded by
 * the Schema in config/schema.ts. A bad value fails fast with every problem listed, each
 * naming its path and the file and line it came from.
 * Does not open connections or start servers.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Result, Schema, SchemaIssue } from "effect"
import { LineCounter, parseDocument, type Document } from "yaml"
import { Config } from "./schema.ts"

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL("./default.yaml", import.meta.url))

/** Every problem of a configuration at once, each naming its path and where it came from. */
export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly problems: readonly string[]; readonly message: string }> {}

export const configError = (problems: readonly string[]): ConfigError =>
  new ConfigError({ problems, message: `invalid configuration:\n  - ${problems.join("\n  - ")}` })

interface Source { readonly name: string; readonly doc: Document; readonly lines: LineCounter }

const parseSource = (name: string, text: string): Source => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  if (doc.errors.length > 0) {
    throw configError(doc.errors.map((e) => {
      const pos = e.linePos?.[0]
      return `${name}${pos ? `:${pos.line}:${pos.col}` : ""}: YAML: ${(e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`
    }))
  }
  return { name, doc, lines }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`. */
export const mergeConfig = (base: unknown, over: unknown): unknown => {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = mergeConfig(base[k], v)
  return out
}

/** Where a config path was written: the last source whose document has it. */
const locate = (sources: readonly Source[], path: readonly PropertyKey[]): string => {
  for (let depth = path.length; depth >= 0; depth--) {
    for (const src of [...sources].reverse()) {
      const node = depth === 0 ? src.doc.contents : src.doc.getIn(path.slice(0, depth) as unknown[], true)
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range
      if (range) {
        const { line, col } = src.lines.linePos(range[0])
        return `${src.name}:${line}:${col}`
      }
    }
  }
  return "(environment)"
}

export interface LoadOptions {
  /** Path of a user YAML file merged over the defaults. */
  readonly file?: string | undefined
  /** Environment to read REDIS_URL, DATABASE_URL, STRATA_PREFIX, STRATA_PG_SCHEMA, STRATA_HTTP_PORT, STRATA_DATA_DIR and STRATA_CONFIG from. */
  readonly env?: NodeJS.ProcessEnv
  /** Last-word overrides (CLI flags, tests), merged over everything else. */
  readonly overrides?: unknown
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Decode an already-merged config object; `sources` only serve to name lines. */
export const decodeConfig = (raw: unknown, sources: readonly Source[] = []): Config => {
  const result = Schema.decodeUnknownResult(Config)(raw, { errors: "all", onExcessProperty: "error" })
  if (Result.isSuccess(result)) {
    const c = result.success
    // The lake follows the data folder unless it is set on its own.
    return c.storage.lake === "" ? { ...c, storage: { ...c.storage, lake: join(c.data_dir, "lake") } } : c
  }
  const problems = formatter(result.failure.issue).issues.map((i) => {
    const path = (i.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p)) as PropertyKey[]
    return `${path.map(String).join(".") || "(root)"} (${locate(sources, path)}): ${i.message}`
  })
  throw configError(problems)
}

export const loadConfig = (options: LoadOptions = {}): Config => {
  const env = options.env ?? process.env
  const sources: Source[] = [parseSource(DEFAULT_CONFIG_PATH, readFileSync(DEFAULT_CONFIG_PATH, "utf8"))]
  const file = options.file ?? env["STRATA_CONFIG"]
  if (file) {
    let text: string
    try {
      text = readFileSync(file, "utf8")
    } catch (e) {
      throw configError([`cannot read config file ${file}: ${e instanceof Error ? e.message : String(e)}`])
    }
    sources.push(parseSource(file, text))
  }
  let merged: unknown = {}
  for (const s of sources) merged = mergeConfig(merged, s.doc.toJS() ?? {})
  const fromEnv: Record<string, Record<string, string>> = {}
  if (env["REDIS_URL"]) fromEnv["redis"] = { url: env["REDIS_URL"] }
  if (env["STRATA_PREFIX"]) fromEnv["redis"] = { ...fromEnv["redis"], prefix: env["STRATA_PREFIX"] }
  if (env["DATABASE_URL"]) fromEnv["postgres"] = { url: env["DATABASE_URL"] }
  if (env["STRATA_PG_SCHEMA"]) fromEnv["postgres"] = { ...fromEnv["postgres"], schema: env["STRATA_PG_SCHEMA"] }
  let overEnv: unknown = env["STRATA_DATA_DIR"] ? { ...fromEnv, data_dir: env["STRATA_DATA_DIR"] } : fromEnv
  // A port is a number: decode it here so a typo fails with the variable's name.
  if (env["STRATA_HTTP_PORT"] !== undefined) {
    const port = Number(env["STRATA_HTTP_PORT"])
    if (!Number.isInteger(port)) throw configError([`STRATA_HTTP_PORT (environment): expected an integer, got "${env["STRATA_HTTP_PORT"]}"`])
    overEnv = mergeConfig(overEnv, { http: { port } })
  }
  merged = mergeConfig(mergeConfig(merged, overEnv), options.overrides)
  return decodeConfig(merged, sources)
}
