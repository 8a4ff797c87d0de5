import { describe, expect, it } from 'vitest';
import { writeRun } from '../../test/store/store-backends.ts';
import { buildRun } from '../../test/store/tape-builder.ts';
import { createMemoryStore } from '../store/index.ts';
import { resolveRunId } from './resolve-ids.ts';

describe('resolveRunId by an external id', () => {
  it('names the run that shipped, not the forks that inherited its ticket; forks only when nothing else has it', async () => {
    const store = createMemoryStore();
    await writeRun(store, buildRun({ runId: 'run_parent', externalIds: { ticket: 'T-1' } }));
    await writeRun(store, buildRun({ runId: 'run_child_a', externalIds: { ticket: 'T-1' }, forkOf: 'run_parent' }));
    await writeRun(store, buildRun({ runId: 'run_child_b', externalIds: { ticket: 'T-2' }, forkOf: 'run_other' }));
    expect(await resolveRunId(store, 'T-1')).toBe('run_parent');
    expect(await resolveRunId(store, 'T-2')).toBe('run_child_b');
    await writeRun(store, buildRun({ runId: 'run_second', externalIds: { ticket: 'T-1' } }));
    await expect(resolveRunId(store, 'T-1')).rejects.toThrow(/ambiguous/i);
  });
});
