import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    // Sized for a loaded 2-core box (the suite must pass beside two CPU-bound processes): the
    // end-to-end groups spawn the CLI and record whole histories. Tests wait for events, never
    // for time, so a timeout only decides how long a hung test takes to be reported.
    testTimeout: 180_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // bin/retrial.js runs the TypeScript source through tsx under this, never a possibly stale dist/.
    env: { RETRIAL_FROM_SOURCE: '1' },
  },
});
