import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccountSystem, createDemoWorld, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { openStore } from '../../src/store/index.ts';
import { runCli } from './run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'retrial-explain-'));
const db = join(directory, 'retrial.db');
const env = { RETRIAL_REDACTION_SALT: 'explain-cli' };

beforeAll(async () => {
  const history = await startSimulatorServer({ port: 0, seed: 'retrial-demo-history-38' });
  const store = await openStore(db, { create: true });
  try {
    const world = createDemoWorld({ runs: 2, endAt: Date.UTC(2026, 10, 20) });
    const incident = world.tickets.find((scheduled) => scheduled.ticket.ticketId === world.incidentTicketId);
    if (!incident) throw new Error('no incident');
    const rec = createRecorder({ store, agent: supportAgent.name, redaction: { salt: env.RETRIAL_REDACTION_SALT, rules: supportAgent.piiRules } });
    const handle = supportAgent.create({ rec, env: { RETRIAL_MODEL_BASE_URL: `${history.url}/v1` }, services: createAccountSystem([incident.account]) });
    await rec.run(incident.ticket, handle, { runId: 'run_incident', startAt: incident.at });
    await rec.flush();
  } finally {
    await store.close();
    await history.close();
  }
});

describe('retrial explain with code that no longer reproduces the run', () => {
  it('exits 1 naming the first divergence and the replay command to run, prints no table, and stores nothing', async () => {
    // An edited copy of the demo agent: one more knowledge-base search than the incident made.
    const edited = join(directory, 'edited-agent.mts');
    writeFileSync(
      edited,
      `import agent from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'src/demo/support-agent.ts')).href)};
export default {
  ...agent,
  create(context) {
    const rec = context.rec;
    const retrieval = (name, fn) => {
      const search = rec.retrieval(name, fn);
      return async (query) => {
        const found = await search(query);
        await search('grace period');
        return found;
      };
    };
    return agent.create({ ...context, rec: { ...rec, retrieval } });
  },
};
`,
    );
    const result = await runCli(['explain', 'run_incident', '--db', db, '--agent', edited, '-n', '10'], { env });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("the agent's code does not reproduce run_incident up to its decision step");
    expect(result.stderr).toContain('MISSING_CALL at a call the tape does not have (retrieval:policy-kb#1)');
    expect(result.stderr).toContain(`retrial replay run_incident --agent ${edited}`);
    const store = await openStore(db);
    try {
      expect(await store.listRunAnalyses('run_incident', 'explain')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
