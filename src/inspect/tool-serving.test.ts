import { describe, expect, it } from 'vitest';
import type { RetrievalEvent, RunRecord, ToolEvent } from '../tape/index.ts';
import { toolServing } from './tool-serving.ts';

const run = (fork: boolean) => ({ header: fork ? { fork: { fromRun: 'run_parent', atSeq: 12, overrides: {} } } : {} }) as unknown as RunRecord;
const tool = (effect: 'read' | 'write', stubbed: boolean | undefined, error?: string) =>
  ({ kind: 'tool', effect, stubbed, ...(error ? { error: { name: error, message: 'x' } } : {}) }) as unknown as ToolEvent;

describe('how a recorded tool call was answered', () => {
  it('tells a fork read served from the parent tape from a stubbed write and a frozen read', () => {
    expect(toolServing(run(false), tool('read', undefined))).toBe('ran');
    expect(toolServing(run(true), tool('read', false))).toBe('ran');
    expect(toolServing(run(false), tool('write', true))).toBe('stubbed');
    expect(toolServing(run(true), tool('write', true))).toBe('stubbed');
    expect(toolServing(run(true), tool('read', true))).toBe('from the parent tape');
    expect(toolServing(run(true), tool('read', true, 'FrozenReadError'))).toBe('refused: not on the parent tape, reads frozen');
    const retrieval = (stubbed: boolean | undefined) => ({ kind: 'retrieval', stubbed }) as unknown as RetrievalEvent;
    expect(toolServing(run(true), retrieval(true))).toBe('from the parent tape');
    expect(toolServing(run(true), retrieval(undefined))).toBe('ran');
  });
});
