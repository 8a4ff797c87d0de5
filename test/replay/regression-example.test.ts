import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectTapeReproduces, TAPES } from '../../examples/regression-test/support-agent-tapes.ts';
import { supportAgent } from '../../src/demo/index.ts';
import type { AgentDefinition } from '../../src/record/index.ts';
import { TapeDivergedError } from '../../src/testing/index.ts';

const directory = mkdtempSync(join(tmpdir(), 'retrial-regression-example-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/**
 * The demo agent's own source with one edit to its system prompt, as a developer would make it:
 * the copy lives elsewhere, so its relative imports point back at the demo's files.
 */
async function promptEditedAgent(): Promise<AgentDefinition<never, unknown, unknown>> {
  const source = readFileSync('src/demo/support-agent.ts', 'utf8');
  const original = "{ role: 'system', content: renderSupportPolicy(today) }";
  expect(source).toContain(original);
  const edited = source
    .replace(original, "{ role: 'system', content: renderSupportPolicy(today) + '\\nAnswer in one sentence.' }")
    .replace(/from '(\.\.?\/[^']+)'/g, (_match, specifier: string) => `from '${pathToFileURL(resolve('src/demo', specifier)).href}'`);
  const file = join(directory, 'support-agent-edited.ts');
  writeFileSync(file, edited);
  return ((await import(pathToFileURL(file).href)) as { default: AgentDefinition<never, unknown, unknown> }).default;
}

describe('examples/regression-test: checked-in tapes as regression tests', () => {
  it('has tapes, and every one reproduces with the unchanged agent', async () => {
    expect(TAPES.length).toBeGreaterThanOrEqual(2);
    for (const tape of TAPES) await expectTapeReproduces(tape, supportAgent);
  });

  it('fails with an AssertionError naming the PAYLOAD_MISMATCH and the field when the prompt changes', async () => {
    const edited = await promptEditedAgent();
    for (const tape of TAPES) {
      const failure = await expectTapeReproduces(tape, edited).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure, tape.pathname).toBeInstanceOf(TapeDivergedError);
      expect((failure as Error).name).toBe('TapeDivergedError');
      const { divergences, message } = failure as TapeDivergedError;
      expect(divergences[0]?.code).toBe('PAYLOAD_MISMATCH');
      expect(divergences[0]?.causalKey).toBe('model:openai-chat#0');
      expect(divergences[0]?.differences.map((difference) => difference.path)).toContain('messages[0].content[0].text');
      // The message is what a test runner prints: the code, the step, the call sites where known, the diff.
      expect(message).toContain(`${tape.pathname} (run run_example-`);
      expect(message).toMatch(/PAYLOAD_MISMATCH at step \d+ \(model:openai-chat#0\)/);
      expect(message).toContain('  messages[0].content[0].text\n    recorded: "');
      expect(message).toContain('Answer in one sentence."');
    }
  });
});
