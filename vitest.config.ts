import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites share one Kafka broker and bind fixed ports; keep files sequential on 2 cores.
    fileParallelism: false,
    reporters: ["default"],
  },
});
