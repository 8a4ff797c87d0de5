// Recorded tickets as regression tests, vitest style. In your project:
//   import { expectReproduces } from 'retrial/testing';
//   import agent from '../src/agent.ts';
import { describe, it } from 'vitest';
import supportAgent from '../../src/demo/support-agent.ts';
import { expectTapeReproduces, TAPES } from './support-agent-tapes.ts';

describe('support agent: recorded tickets still go the way they went', () => {
  for (const tape of TAPES) {
    it(tape.pathname.slice(tape.pathname.lastIndexOf('/') + 1), () => expectTapeReproduces(tape, supportAgent));
  }
});
