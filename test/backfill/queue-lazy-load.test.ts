import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * pg-boss (and the pg driver under it) loads only when a backfill queue is opened: a service that
 * imports `retrial` to record, or `retrial/backfill` to run a campaign in process, never pays for it.
 * A resolve hook in the child prints every specifier naming pg-boss that it resolves.
 */
const hook = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent("export async function resolve(specifier, context, next) { if (specifier.includes('pg-boss')) process.stderr.write('RESOLVED ' + specifier + '\\\\n'); return next(specifier, context); }"));`,
)}`;

function stderrOf(script: string): string {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx/esm', '--import', hook, '--input-type=module', '-e', `${script}; process.stderr.write('DONE\\n');`],
    {
      encoding: 'utf8',
    },
  );
  return child.stderr;
}

describe('the backfill queue loads pg-boss lazily', () => {
  it('importing the package root and retrial/backfill resolves no pg-boss; opening a queue does', { timeout: 120_000 }, () => {
    expect(stderrOf(`await import('./src/index.ts'); await import('./src/backfill.ts')`)).toBe('DONE\n');
    const opened = stderrOf(
      `const backfill = await import('./src/backfill/index.ts'); await backfill.openBackfillQueue({ url: 'postgres://nobody@127.0.0.1:1/none' }).catch(() => {})`,
    );
    expect(opened).toMatch(/^RESOLVED pg-boss\n[\s\S]*DONE\n$/);
  });
});
