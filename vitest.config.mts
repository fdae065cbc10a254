// vitest 4 (vitest 5 needs Node ≥ 22.12). Pool 'forks': native addons and `instanceof` on their
// errors behave as in plain Node (the vm pools break both).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
