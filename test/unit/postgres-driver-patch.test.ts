/**
 * The installed PostgreSQL driver carries the project's patch (patches/, applied by
 * patch-package on install): a deferred write after its socket closed, and a failed
 * array-type query at connect, must not escape as uncaught errors that end the process.
 * Their behaviour under real restarts is test/chaos/postgres-restart.test.ts.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const driver = (build: string) =>
  readFileSync(fileURLToPath(new URL(`../../node_modules/postgres/${build}/connection.js`, import.meta.url)), "utf8")

describe("postgres.js patch", () => {
  for (const build of ["src", "cjs/src", "cf/src"]) {
    it(`is applied to the ${build} build`, () => {
      const text = driver(build)
      expect(text).toMatch(/function nextWrite\(fn\) \{[^}]*if \(socket === null\)/)
      expect(text).toContain("return fetchArrayTypes().catch(")
      expect(text.match(/chunk = nextWriteTimer = null/g)?.length).toBe(4)
    })
  }
})
