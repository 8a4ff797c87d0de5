import { describe, expect, it } from 'vitest';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

const SALT = 'order-salt';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two branches of two calls each. Live, the knowledge base is slow, so branch B's second call
 * finishes before branch A's second call starts; a replay answers at once and interleaves them
 * the other way. Same code, same calls: it must reproduce. Moving A's lookup ahead of the
 * knowledge-base call it waited for is a real change of order.
 */
function branchingAgent(variant: 'original' | 'lookup-before-kb') {
  return defineAgent<{ customer: string }, string[], unknown>({
    name: 'branching-agent',
    codeVersion: variant,
    create({ rec }) {
      const read = (name: string, ms: number) =>
        rec.tool(
          name,
          async (query: { q: string }) => {
            await pause(ms);
            return `${name}:${query.q}`;
          },
          { effect: 'read' },
        );
      const kb = read('kb', 40);
      const profile = read('profile', 1);
      const lookupA = read('lookup_a', 1);
      const lookupB = read('lookup_b', 1);
      return async ({ customer }) => {
        const early = variant === 'lookup-before-kb' ? lookupA({ q: customer }) : undefined;
        return Promise.all([
          (async () => [await kb({ q: customer }), await (early ?? lookupA({ q: customer }))])(),
          (async () => [await profile({ q: customer }), await lookupB({ q: customer })])(),
        ]).then((pairs) => pairs.flat());
      };
    },
  });
}

describe('the order of calls', () => {
  it('parallel branches of several calls each reproduce although a replay interleaves them differently; a call moved ahead of the one it waited for does not', async () => {
    const store = createMemoryStore();
    const rec = createRecorder({ store, agent: 'branching-agent', redaction: { salt: SALT } });
    await rec.run({ customer: 'C-1' }, branchingAgent('original').create({ rec, env: {} }), { runId: 'run_branches' });
    const recorded = (await loadTape(store, 'run_branches')).events.filter((event) => event.kind === 'tool').map((event) => event.key);
    // The premise: live, lookup_b finished before lookup_a started.
    expect(recorded.indexOf('tool:lookup_b#0')).toBeLessThan(recorded.indexOf('tool:kb#0'));

    const same = await replayRun({ store, runId: 'run_branches', agent: branchingAgent('original') as never, redactionSalt: SALT });
    expect(same.divergences).toEqual([]);

    const moved = await replayRun({ store, runId: 'run_branches', agent: branchingAgent('lookup-before-kb') as never, redactionSalt: SALT });
    expect(moved.divergences.map((divergence) => [divergence.code, divergence.causalKey])).toEqual([['ORDER_MISMATCH', 'tool:lookup_a#0']]);
    expect(moved.divergences[0]?.differences).toEqual([
      { path: 'order', expected: 'tool:kb#0, then tool:lookup_a#0', received: 'tool:lookup_a#0, then tool:kb#0' },
    ]);
  });
});
