import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    // A loaded two-core machine takes minutes where an idle one takes seconds (CLI processes,
    // property runs): tests wait for states, and these limits only stop a test that hangs.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Two cores: integration files share one Redis and one PostgreSQL, each in its own namespace.
    maxWorkers: 2,
    reporters: ["default"]
  }
})
