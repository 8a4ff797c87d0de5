import { readdirSync } from 'node:fs';
import { type ExpectReproducesOptions, expectReproduces } from '../../src/testing/index.ts';

/** The checked-in tapes: one recorded ticket each (record-tapes.ts wrote them). */
export const TAPES: URL[] = readdirSync(new URL('./tapes/', import.meta.url))
  .filter((name) => name.endsWith('.tape.jsonl'))
  .sort()
  .map((name) => new URL(`./tapes/${name}`, import.meta.url));

/**
 * The check: the agent as the code now is must make the recorded calls, with the recorded
 * arguments, in the recorded order, and end with the recorded output and decisions. Throws an
 * AssertionError naming the first divergence otherwise.
 */
export async function expectTapeReproduces(tape: URL, agent: ExpectReproducesOptions['agent']): Promise<void> {
  await expectReproduces({ tape, agent });
}
