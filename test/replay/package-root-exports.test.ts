import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as retrial from '../../src/index.ts';
import * as testing from '../../src/testing/index.ts';

describe('the package root exports the replay API the README documents', () => {
  it('replay, resample, fork, explain, divergences, the agent loader, service recording and the salt helpers', () => {
    for (const name of [
      'createReplayer',
      'replayRun',
      'resampleStep',
      'forkRun',
      'explainRun',
      'loadAgentModule',
      'renderDivergence',
      'recordAgent',
      'createRunId',
      'loadRedactionSalt',
      'defaultRedactionSalt',
    ] as const)
      expect(typeof (retrial as Record<string, unknown>)[name], name).toBe('function');
    expect(retrial.DIVERGENCE_CODES).toContain('PAYLOAD_MISMATCH');
    expect(retrial.REDACTION_SALT_VARIABLE).toBe('RETRIAL_REDACTION_SALT');
    expect(typeof retrial.ReplayDivergenceError.isInstance).toBe('function');
  });

  it('retrial/testing is its own entry point, and the root does not load it', () => {
    expect(typeof testing.expectReproduces).toBe('function');
    expect(typeof testing.recordTape).toBe('function');
    expect(Object.keys(JSON.parse(readFileSync('package.json', 'utf8')).exports)).toContain('./testing');
    expect(readFileSync('src/index.ts', 'utf8')).not.toMatch(/from '\.\/testing\//);
  });
});
