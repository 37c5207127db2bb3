import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: integration files share one Redis and one PostgreSQL, each in its own namespace.
    maxWorkers: 2,
    reporters: ["default"]
  }
})
