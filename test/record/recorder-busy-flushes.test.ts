import { describe, expect, it } from 'vitest';
import { createRecorder, type RecordingFailure } from '../../src/record/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

describe('recorder: runs that start while a flush is under way', () => {
  it('are written with their start, never as events of a run the store does not have', async () => {
    const store = createMemoryStore();
    const failures: RecordingFailure[] = [];
    // Flushes all the time, so runs keep starting while one is draining events.
    const rec = createRecorder({ store, agent: 'busy-agent', flushIntervalMs: 0, maxBufferedEvents: 3, onRecordingError: (failure) => failures.push(failure) });
    const lookup = rec.tool('lookup', async (run: number, step: number) => ({ run, step, text: 'x'.repeat(500) }), { effect: 'read' });
    let next = 0;
    const worker = async () => {
      while (next < 300) {
        const run = next++;
        await rec.run(run, async () => {
          for (let step = 0; step < 4; step++) await lookup(run, step);
          rec.decide({ type: 'busy', subject: `S-${run}`, value: 'ok' });
          return run;
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await rec.flush();
    expect(failures).toEqual([]);
    const runs = await store.listRuns({ limit: 1000 });
    expect(runs).toHaveLength(300);
    expect(runs.filter((run) => run.status !== 'complete')).toEqual([]);
  }, 120_000);
});
