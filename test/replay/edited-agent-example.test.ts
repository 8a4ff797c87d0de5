import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordedHistory, recordDemoHistory, startSimulatorServer } from '../../src/demo/index.ts';
import { openStore } from '../../src/store/index.ts';
import { runCli } from '../cli/run-cli.ts';

const SALT = 'edited-agent-salt';
const directory = mkdtempSync(join(tmpdir(), 'retrial-edited-agent-'));
const database = join(directory, 'retrial.db');
let history: RecordedHistory;

beforeAll(async () => {
  const simulator = await startSimulatorServer({ port: 0, seed: 'edited-agent' });
  const store = await openStore(database);
  try {
    history = await recordDemoHistory({ store, modelBaseUrl: `${simulator.url}/v1`, runs: 12, redactionSalt: SALT, concurrency: 4 });
  } finally {
    await store.close();
    await simulator.close();
  }
}, 120_000);
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("the README's divergence example: examples/edited-agent.mts", () => {
  it('replaying the incident with it stops at the knowledge-base search, naming both call sites and the changed text', async () => {
    const env = { RETRIAL_REDACTION_SALT: SALT };
    const unchanged = await runCli(['replay', history.incidentRunId, '--agent', 'src/demo/support-agent.ts', '--db', database], { env });
    expect(unchanged.stdout, unchanged.stderr).toMatch(/^REPRODUCED /);

    const edited = await runCli(['replay', history.incidentRunId, '--agent', 'examples/edited-agent.mts', '--db', database], { env });
    expect(edited.status, edited.stderr).toBe(1);
    const lines = edited.stdout.split('\n');
    expect(lines[0]).toBe(`DIVERGED ${history.incidentRunId} (1 divergence):`);
    expect(lines[1]).toMatch(
      /^PAYLOAD_MISMATCH at step \d+ \(retrieval:policy-kb#0\): retrieval:policy-kb#0 was called with different arguments than recorded$/,
    );
    expect(edited.stdout).toContain('  replayed at examples/edited-agent.mts#handleTicket\n  recorded at src/demo/support-agent.ts#handleTicket\n  [0]\n');
    expect(edited.stdout).toMatch(/ {4}recorded: "…[^"]*"\n {4}replayed: "…[^"]* Thanks\."/);
  }, 120_000);
});
