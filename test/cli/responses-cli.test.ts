import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { runCli } from './run-cli.ts';

/** A Responses API call recorded into a store file, then inspected and resampled through the CLI. */
const directory = mkdtempSync(join(tmpdir(), 'retrial-responses-cli-'));
const db = join(directory, 'tape.db');
let modelStep = '';

beforeAll(async () => {
  const simulator = await startSimulatorServer({ port: 0, seed: 'responses-cli' });
  const store = await openSqliteStore(db);
  try {
    const rec = createRecorder({ store, agent: 'responses-cli' });
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${simulator.url}/v1`, fetch: rec.fetch, maxRetries: 0 });
    await rec.run(
      'hi',
      async () => {
        const stream = await client.responses.create({
          model: 'support-sim',
          instructions: 'You help customers.',
          input: 'Customer C-1042 asks about the bill.',
          tools: [{ type: 'function', name: 'lookup_account', parameters: { type: 'object', properties: { customer_id: { type: 'string' } } }, strict: false }],
          temperature: 0,
          stream: true,
        });
        for await (const _event of stream) {
          // drain
        }
      },
      { runId: 'run_responses_cli' },
    );
    const tape = await loadTape(store, 'run_responses_cli');
    modelStep = String(tape.events.find((event) => event.kind === 'model')?.seq);
  } finally {
    await store.close();
    await simulator.close();
  }
}, 60_000);
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('the CLI on a Responses API step', () => {
  it('show --step prints the messages the model saw, the tools and the answer, not raw HTTP', async () => {
    const result = await runCli(['show', 'run_responses_cli', '--db', db, '--step', modelStep]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Step ${modelStep} · model · model:openai-responses#0 ·`);
    expect(result.stdout).toMatch(/\/v1\/responses → 200 \(openai-responses, streamed in \d+ chunks\)/);
    expect(result.stdout).toContain('Messages the model saw (2)');
    expect(result.stdout).toContain('lookup_account: ');
    expect(result.stdout).toMatch(/→ tool call lookup_account \[call_\w+\] \{"customer_id":"C-1042"\}/);
  }, 60_000);

  it('resample sends the recorded request to the simulator again and classifies the answers', async () => {
    const result = await runCli(['resample', 'run_responses_cli', '--db', db, '--step', modelStep, '-n', '10', '--json']);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ completed: 10, recordedClass: 'lookup_account', complete: true });
  }, 60_000);
});
