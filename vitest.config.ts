import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // bin/retrial.js runs the TypeScript source through tsx under this, never a possibly stale dist/.
    env: { RETRIAL_FROM_SOURCE: '1' },
  },
});
