import { describe, expect, it } from 'vitest';
import type { Divergence } from '../../replay/index.ts';
import { renderDivergence } from './replay-command.ts';

const divergence = (fields: Partial<Divergence> & Pick<Divergence, 'code' | 'causalKey'>): Divergence => ({
  seq: null,
  message: 'm',
  differences: [],
  site: null,
  recordedSite: null,
  ...fields,
});

describe('renderDivergence', () => {
  it('places a divergence at its step, or says what stands in for the step the tape does not have', () => {
    const first = (value: Divergence) => renderDivergence(value).split('\n')[0];
    expect(first(divergence({ code: 'PAYLOAD_MISMATCH', seq: 6, causalKey: 'model:openai-chat#0' }))).toBe(
      'PAYLOAD_MISMATCH at step 6 (model:openai-chat#0): m',
    );
    expect(first(divergence({ code: 'OUTPUT_MISMATCH', causalKey: 'output:output#0' }))).toBe('OUTPUT_MISMATCH at the end of the run (output:output#0): m');
    expect(first(divergence({ code: 'UNSANCTIONED_NONDETERMINISM', causalKey: 'clock:Date.now#9' }))).toBe(
      'UNSANCTIONED_NONDETERMINISM at a read or request the tape does not have (clock:Date.now#9): m',
    );
    expect(first(divergence({ code: 'MISSING_CALL', causalKey: 'tool:lookup#2' }))).toBe('MISSING_CALL at a call the tape does not have (tool:lookup#2): m');
  });

  it('shows both call sites and each differing field, recorded against replayed', () => {
    const text = renderDivergence(
      divergence({
        code: 'PAYLOAD_MISMATCH',
        seq: 9,
        causalKey: 'tool:lookup#0',
        site: 'agent.ts#handle',
        recordedSite: 'agent.ts#handle',
        differences: [{ path: '[0].id', expected: 'C-1', received: 'c-1' }],
      }),
    );
    expect(text.split('\n').slice(1)).toEqual([
      '  means: the same call was made with different arguments',
      '  replayed at agent.ts#handle',
      '  recorded at agent.ts#handle',
      '  [0].id',
      '    recorded: "C-1"',
      '    replayed: "c-1"',
    ]);
  });
});
