import { expect, it } from 'vitest';
import { createRecorder } from '../../src/record/index.ts';
import { createMemoryStore, verifyStore } from '../../src/store/index.ts';

/**
 * Runs of one process overlap: while a flush drains one run's large value (built over several
 * ticks), another run starts and records. Its start, events and ending must go out in one flush
 * or in order, never its events in a flush that lacks its start (the store refuses those, and the
 * run was lost as `incomplete`).
 */
it('records overlapping runs whole when one starts while a flush is draining another', async () => {
  const store = createMemoryStore();
  const rec = createRecorder({ store, agent: 'overlap-agent', flushIntervalMs: 5, redaction: { salt: 'overlap-salt' } });
  const policy = rec.tool('policy', async () => ({ text: 'Refund within 30 days of purchase. '.repeat(200) }), { effect: 'read' });
  const charge = rec.tool('charge', async (id: number) => ({ charged: id }));
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < 12; index = next++) {
      await rec.run(
        { index },
        async () => {
          await policy();
          await charge(index);
          return index;
        },
        { runId: `run_overlap_${String(index).padStart(2, '0')}` },
      );
    }
  };
  await Promise.all([lane(), lane(), lane()]);
  await rec.flush();
  expect(rec.health()).toMatchObject({ runsDegraded: 0, eventsDropped: 0, lastFailure: null });
  expect(await store.countRuns({ status: 'complete' })).toBe(12);
  for await (const verification of verifyStore(store)) expect(verification.problems).toEqual([]);
  await store.close();
});
