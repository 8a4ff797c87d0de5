#!/usr/bin/env node
// Runs the compiled CLI from dist/ (built by `npm run build`, which `npm ci` and `npm install`
// run through the `prepare` script). It runs the TypeScript sources through tsx instead when
// dist/ is missing (a checkout before its first build) or when RETRIAL_FROM_SOURCE=1: the
// test suite sets that (test/cli/run-cli.ts, vitest.config.ts) so tests always exercise the
// current source, never a stale build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (process.env.RETRIAL_FROM_SOURCE !== '1' && existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
