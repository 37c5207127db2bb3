/** The node options the archive thread starts with: the process's, without a tsx import of its own. */
import { describe, expect, it } from "vitest"
import { withoutTsxImport } from "../../src/engine/archive-thread.ts"

describe("withoutTsxImport", () => {
  it("drops --import tsx in both spellings and keeps every other option", () => {
    expect(withoutTsxImport(["--import", "tsx", "--cpu-prof", "--cpu-prof-dir=/tmp/p"])).toEqual(["--cpu-prof", "--cpu-prof-dir=/tmp/p"])
    expect(withoutTsxImport(["--import=tsx", "--max-old-space-size=512"])).toEqual(["--max-old-space-size=512"])
    expect(withoutTsxImport(["--loader", "tsx/esm"])).toEqual([])
  })
  it("keeps imports of other modules, including ones whose name starts with tsx", () => {
    expect(withoutTsxImport(["--import", "./otel.mjs", "--import=tsx-like"])).toEqual(["--import", "./otel.mjs", "--import=tsx-like"])
  })
})
