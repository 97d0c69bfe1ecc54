// Test layout: test/unit runs anywhere; test/lab builds real hosts in network namespaces (root only).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Lab suites share one machine's namespaces and CPU: run files one after another.
    fileParallelism: false,
    reporters: ["default"],
  },
});
