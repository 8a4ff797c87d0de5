import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const SECRET = 'sk-sim-SECRET-e2e-4b9d1c';
const directory = mkdtempSync(join(tmpdir(), 'retrial-cli-'));
const db = join(directory, 'demo.db');
/** The demo's store as the demo left it (later tests damage `db` on purpose). */
const pristine = join(directory, 'pristine.db');

/** SQLite keeps no checksums: flips one byte of the file itself, in the middle of its largest compressed pack. */
function flipByteInLargestPack(file: string): void {
  const database = new Database(file, { readonly: true });
  const pack = database.prepare('SELECT data FROM packs ORDER BY length(data) DESC LIMIT 1').get() as { data: Buffer };
  database.close();
  const bytes = readFileSync(file);
  const middle = Math.floor(pack.data.length / 2);
  const at = bytes.indexOf(pack.data.subarray(middle, middle + 48));
  expect(at).toBeGreaterThan(0);
  bytes[at] = (bytes[at] as number) ^ 0x20;
  writeFileSync(file, bytes);
}
let demo: {
  runs: number;
  incident: { runId: string; decisionStep: number | null; decision: string | null };
  investigation: { replay: { ok: boolean }; resample: { completed: number; hypothesis: { class: string } } | null; explain: { explainingFactors: string[] } };
};

beforeAll(async () => {
  const result = await runCli(['demo', '--runs', '80', '--db', db, '--json'], { env: { RETRIAL_SIM_API_KEY: SECRET } });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  demo = JSON.parse(result.stdout);
  copyFileSync(db, pristine);
}, 120_000);

describe('retrial CLI, end to end on a real SQLite file', () => {
  it('demo records the runs and names the incident', () => {
    expect(demo.runs).toBe(80);
    expect(demo.incident.runId).toMatch(/^run_t-inc-0214/);
    expect(demo.incident.decisionStep).not.toBeNull();
    expect(demo.incident.decision).toBe('close');
    expect(demo.investigation.replay.ok).toBe(true);
    expect(demo.investigation.resample).toMatchObject({ completed: 200, hypothesis: { class: 'close_account' } });
    expect(demo.investigation.explain.explainingFactors).toEqual(['model', 'toolData']);
  });

  it('resample measures the rate of the recorded answer at a step, with an interval, and refuses a bad --model', async () => {
    const result = await runCli(['resample', demo.incident.runId, '--db', db, '--step', String(demo.incident.decisionStep), '-n', '40', '--json']);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ completed: 40, recordedClass: 'close_account', hypothesis: { class: 'close_account' }, complete: true });
    expect(parsed.hypothesis.estimate.high).toBeGreaterThan(parsed.hypothesis.estimate.low);
    const text = await runCli([
      'resample',
      demo.incident.runId,
      '--db',
      db,
      '--step',
      String(demo.incident.decisionStep),
      '-n',
      '20',
      '--model',
      'sim:support-sim-2026-04-01',
    ]);
    expect(text.stdout).toMatch(/served: support-sim-2026-04-01 ×20/);
    expect(text.stdout).toMatch(/95% CI/);
    const bad = await runCli(['resample', demo.incident.runId, '--db', db, '--step', String(demo.incident.decisionStep), '--model', 'gpt-4o']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/must be provider:name/);
    const notModel = await runCli(['resample', demo.incident.runId, '--db', db, '--step', '0']);
    expect(notModel.status).toBe(2);
    expect(notModel.stderr).toMatch(/resample needs a model step/);
  });

  it('resample takes --rate as backfill does, and refuses a malformed --rate, --concurrency or -n', async () => {
    // A copy: the results these store stay out of the store later tests report on.
    const copy = join(directory, 'resample-options.db');
    copyFileSync(pristine, copy);
    const step = String(demo.incident.decisionStep);
    const resample = (...args: string[]) => runCli(['resample', demo.incident.runId, '--db', copy, '--step', step, ...args]);
    // 6 requests at 5/s: the last starts 1 s after the first.
    const paced = await resample('-n', '6', '--rate', '5/s', '--json');
    expect(paced.status).toBe(0);
    expect(JSON.parse(paced.stdout).durationMs).toBeGreaterThanOrEqual(950);
    for (const [flag, value, message] of [
      ['--rate', 'abc', /--rate "abc" must look like 50\/s or 3000\/min/],
      ['--rate', '5/hour', /--rate "5\/hour" must look like/],
      ['--concurrency', 'abc', /--concurrency must be a whole number/],
      ['-n', 'abc', /-n must be a whole number/],
    ] as const) {
      const refused = await resample(flag, value);
      expect(refused.status, `${flag} ${value}`).toBe(2);
      expect(refused.stderr).toMatch(message);
    }
  }, 90_000);

  it('resample refuses a hypothesis that no answer of the step can match, before sending anything', async () => {
    // A copy: the results these store stay out of the store later tests report on.
    const copy = join(directory, 'resample-hypothesis.db');
    copyFileSync(pristine, copy);
    const step = String(demo.incident.decisionStep);
    const resample = (...args: string[]) => runCli(['resample', demo.incident.runId, '--db', copy, '--step', step, ...args]);
    const prose = await resample('-n', '30', '--hypothesis', 'the model closes the account');
    expect(prose.status).toBe(2);
    expect(prose.stdout).toBe('');
    expect(prose.stderr).toContain('--hypothesis "the model closes the account" is not an answer step');
    expect(prose.stderr).toMatch(/one of lookup_account, set_grace_period, close_account, .*escalate_to_human, \(no tool\)/);
    const tool = await resample('-n', '4', '--hypothesis', 'set_grace_period', '--json');
    expect(tool.status).toBe(0);
    expect(JSON.parse(tool.stdout).hypothesis.class).toBe('set_grace_period');
    // By a JSON path the possible values are not known in advance: any hypothesis is taken.
    const byPath = await resample('-n', '4', '--hypothesis', '14', '--classify-by', 'content[0].input.days', '--json');
    expect(byPath.status).toBe(0);
    expect(JSON.parse(byPath.stdout).hypothesis.class).toBe('14');
  });

  it('resample --json against an endpoint that dies mid-run prints the error with the partial result it stored, and exits 6', async () => {
    const copy = join(directory, 'resample-partial.db');
    copyFileSync(pristine, copy);
    // Answers the first 5 requests with a tool call, then drops every connection.
    let requests = 0;
    const server = createServer((request, response) => {
      if (++requests > 5) {
        request.socket.destroy();
        return;
      }
      request.resume().on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            id: `chatcmpl-${requests}`,
            object: 'chat.completion',
            created: 0,
            model: 'gpt-4o-mini-2024-07-18',
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: null,
                  tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'set_grace_period', arguments: '{}' } }],
                },
                finish_reason: 'tool_calls',
              },
            ],
            usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const args = ['resample', demo.incident.runId, '--db', copy, '--step', String(demo.incident.decisionStep), '-n', '20', '--concurrency', '1'];
      const result = await runCli([...args, '--model', 'openai:gpt-4o-mini', '--json'], {
        env: { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_API_KEY: 'd' },
      });
      expect(result.status).toBe(6);
      const parsed = JSON.parse(result.stdout);
      expect(parsed.error.code).toBe('ENDPOINT');
      expect(parsed.error.message).toMatch(/is not answering .*5 of 20 answers were kept as a partial result/);
      expect(parsed.partial).toMatchObject({ completed: 5, n: 20, complete: false, model: { sent: 'gpt-4o-mini', served: { 'gpt-4o-mini-2024-07-18': 5 } } });
      expect(parsed.partial.distribution).toMatchObject([{ class: 'set_grace_period', count: 5 }]);
      expect(parsed.error.message).toContain(parsed.partial.analysisId);
      const database = new Database(copy, { readonly: true });
      const stored = database.prepare('SELECT result_json FROM run_analyses WHERE analysis_id = ?').get(parsed.partial.analysisId) as { result_json: string };
      database.close();
      expect(JSON.parse(stored.result_json)).toEqual(parsed.partial);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never stores the API key: not in any byte of the database or its WAL', () => {
    for (const file of [db, `${db}-wal`]) {
      if (!existsSync(file)) continue;
      expect(readFileSync(file).includes(Buffer.from(SECRET))).toBe(false);
    }
  });

  it('runs lists and filters; --json gives the same objects', async () => {
    const all = JSON.parse((await runCli(['runs', '--db', db, '--json', '--limit', '500'])).stdout);
    expect(all.total).toBe(80);
    const byTicket = await runCli(['runs', '--db', db, '--subject', 'T-INC-0214']);
    expect(byTicket.status).toBe(0);
    expect(byTicket.stdout).toContain(demo.incident.runId);
    expect(byTicket.stdout).toContain('1 of 1 matching runs');
    const refunds = JSON.parse((await runCli(['runs', '--db', db, '--json', '--decision', 'refund.category', '--limit', '500'])).stdout);
    expect(refunds.runs.length).toBeGreaterThan(0);
    for (const run of refunds.runs) expect(run.decisions.some((decision: { type: string }) => decision.type === 'refund.category')).toBe(true);
    const served = JSON.parse((await runCli(['runs', '--db', db, '--json', '--model', 'support-sim-2026-01-15', '--limit', '500'])).stdout);
    expect(served.total).toBe(80);
  });

  it('show prints the timeline and --step k exactly what the model saw', async () => {
    const timeline = await runCli(['show', demo.incident.runId, '--db', db]);
    expect(timeline.status).toBe(0);
    expect(timeline.stdout).toContain('lookup_account');
    expect(timeline.stdout).toMatch(/decision\s+account\.action = /);
    const step = await runCli(['show', demo.incident.runId, '--db', db, '--step', String(demo.incident.decisionStep)]);
    expect(step.status).toBe(0);
    for (const expected of [
      'requested support-sim → served support-sim-2026-01-15',
      'system_fingerprint fp_sim_',
      'temperature=0',
      'top_p=1 (default)',
      'Northwind Utilities support handbook',
      'Today is',
      'T-INC-0214',
      'set_grace_period',
      'close_account',
      'Usage        input',
    ]) {
      expect(step.stdout).toContain(expected);
    }
    const json = JSON.parse((await runCli(['show', demo.incident.runId, '--db', db, '--step', String(demo.incident.decisionStep), '--json'])).stdout);
    expect(json.kind).toBe('model');
    expect(json.wire.requestText).toContain('"model":"support-sim"');
  });

  it('decisions lists the ledger with filters', async () => {
    const result = JSON.parse((await runCli(['decisions', '--db', db, '--json', '--type', 'account.action', '--limit', '1000'])).stdout);
    expect(result.decisions.length).toBeGreaterThan(0);
    expect(result.decisions.every((decision: { type: string }) => decision.type === 'account.action')).toBe(true);
    expect(result.decisions.some((decision: { runId: string }) => decision.runId === demo.incident.runId)).toBe(true);
  });

  it('export and import round-trip a run byte for byte, all or nothing', async () => {
    const tape = join(directory, 'incident.tape.jsonl');
    expect((await runCli(['export', demo.incident.runId, '--db', db, '-o', tape])).status).toBe(0);
    const other = join(directory, 'other.db');
    const imported = await runCli(['import', tape, '--db', other]);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toContain('Imported');
    const again = join(directory, 'again.tape.jsonl');
    expect((await runCli(['export', demo.incident.runId, '--db', other, '-o', again])).status).toBe(0);
    expect(readFileSync(again).equals(readFileSync(tape))).toBe(true);
    expect((await runCli(['verify', '--db', other])).status).toBe(0);

    const broken = join(directory, 'broken.tape.jsonl');
    const lines = readFileSync(tape, 'utf8').split('\n');
    lines[3] = lines[3]?.replace('"kind"', '"kind_"') ?? '';
    writeFileSync(broken, lines.join('\n'));
    const third = join(directory, 'third.db');
    const refused = await runCli(['import', broken, '--db', third]);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toMatch(/line 4/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    // The import created third.db and failed, so it removed the store it had made.
    expect(existsSync(third)).toBe(false);
  });

  it('verify passes, then reports a single flipped byte in the file with its run and event', async () => {
    expect((await runCli(['verify', '--db', db])).stdout).toMatch(/^OK: 80 runs/m);
    flipByteInLargestPack(db);
    const result = await runCli(['verify', '--db', db]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/FAIL run_\S+ event \d+: (EVENT_HASH_MISMATCH|BLOB_CORRUPT|EVENT_INVALID)/);
    expect(result.stdout).toMatch(/^FAILED: 80 runs/m);
  });

  it('verify names the run whose header changed', async () => {
    const copy = join(directory, 'header.db');
    copyFileSync(join(directory, 'other.db'), copy);
    const bytes = readFileSync(copy);
    const at = bytes.indexOf(Buffer.from('"codeVersion":"demo-1.0.0"'));
    expect(at).toBeGreaterThan(0);
    bytes[at + 22] = '9'.charCodeAt(0);
    writeFileSync(copy, bytes);
    const result = await runCli(['verify', '--db', copy]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`FAIL ${demo.incident.runId}: HEADER_CHANGED`);
  });

  it('replay reproduces the incident from its tape, and names the divergence when the agent code changed', async () => {
    const copy = join(directory, 'replay.db');
    copyFileSync(join(directory, 'other.db'), copy);
    const reproduced = await runCli(['replay', demo.incident.runId, '--agent', 'src/demo/support-agent.ts', '--db', copy]);
    expect(reproduced.stderr).toBe('');
    expect(reproduced.status).toBe(0);
    expect(reproduced.stdout).toMatch(/^REPRODUCED run_t-inc-0214/);
    const edited = join(directory, 'edited-agent.mts');
    writeFileSync(
      edited,
      `import agent from ${JSON.stringify(join(process.cwd(), 'src/demo/support-agent.ts'))};
export default { ...agent, create(context) { const handle = agent.create(context); return (ticket) => handle({ ...ticket, message: ticket.message + ' Thanks.' }); } };
`,
    );
    const diverged = await runCli(['replay', demo.incident.runId, '--agent', edited, '--db', copy]);
    expect(diverged.status).toBe(1);
    expect(diverged.stdout).toMatch(/^DIVERGED run_t-inc-0214/);
    expect(diverged.stdout).toMatch(/PAYLOAD_MISMATCH at step \d+ \(retrieval:policy-kb#0\)/);
    expect(diverged.stdout).toContain('Thanks.');
    const json = JSON.parse((await runCli(['replay', demo.incident.runId, '--agent', edited, '--db', copy, '--json', '--lenient'])).stdout);
    expect(json.ok).toBe(false);
    expect(json.divergences.length).toBeGreaterThan(1);
  });

  it('replay --all replays every ended run of the agent as a regression check, and a changed agent fails it', async () => {
    const copy = join(directory, 'batch.db');
    copyFileSync(pristine, copy);
    const listed = JSON.parse((await runCli(['runs', '--db', copy, '--json', '--limit', '1000', '--forks', 'include'])).stdout);
    const batch = await runCli(['replay', '--all', '--agent', 'src/demo/support-agent.ts', '--db', copy, '--json']);
    expect(batch.status, batch.stdout.slice(0, 4000)).toBe(0);
    const result = JSON.parse(batch.stdout);
    expect(result.results.length).toBe(listed.total);
    expect(result).toMatchObject({ reproduced: listed.total, diverged: 0, failed: [], skippedUnended: 0, beyondLimit: 0 });
    const text = await runCli(['replay', '--all', '--agent', 'src/demo/support-agent.ts', '--db', copy, '--limit', '10']);
    expect(text.stdout).toMatch(/^10 of 10 runs reproduced exactly, 0 diverged \(\d+\.\d s, \d+ replays\/s\)/m);
    expect(text.stdout).toContain(`${listed.total - 10} later runs matched beyond --limit and were not replayed`);

    // A refactor that changes what the model is told: every run with a model call diverges.
    const edited = join(directory, 'batch-edited-agent.mts');
    writeFileSync(
      edited,
      `import agent from ${JSON.stringify(join(process.cwd(), 'src/demo/support-agent.ts'))};
export default { ...agent, create(context) { const handle = agent.create(context); return (ticket) => handle({ ...ticket, message: ticket.message + ' Thanks.' }); } };
`,
    );
    const [first, second] = [demo.incident.runId, listed.runs[0].runId];
    const diverged = await runCli(['replay', first, second, '--agent', edited, '--db', copy]);
    expect(diverged.status).toBe(1);
    expect(diverged.stdout).toContain(`DIVERGED ${first}`);
    expect(diverged.stdout).toContain(`DIVERGED ${second}`);
    expect(diverged.stdout).toMatch(/0 of 2 runs reproduced exactly, 2 diverged/);

    const unknown = await runCli(['replay', first, 'run_no_such', '--agent', 'src/demo/support-agent.ts', '--db', copy]);
    expect(unknown.status).toBe(3);
    expect(unknown.stderr).toContain('No run with id "run_no_such"');
    expect(unknown.stdout).toBe('');
    const both = await runCli(['replay', first, '--all', '--agent', 'src/demo/support-agent.ts', '--db', copy]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('Give run ids or --all, not both.');
    const none = await runCli(['replay', '--agent', 'src/demo/support-agent.ts', '--db', copy]);
    expect(none.status).toBe(2);
    // A regression check that replays nothing must not pass.
    const nothing = await runCli(['replay', '--all', '--since', '2099-01-01', '--agent', 'src/demo/support-agent.ts', '--db', copy]);
    expect(nothing.status).toBe(3);
    expect(nothing.stderr).toContain('No ended runs of agent "support-agent" match --since/--until');
    const mixed = await runCli(['replay', first, '--since', '7d', '--agent', 'src/demo/support-agent.ts', '--db', copy]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toContain('--since, --until and --limit choose runs for --all');

    // An agent that cannot be built stops the batch once, naming what to fix.
    const throwing = join(directory, 'throwing-agent.mts');
    writeFileSync(
      throwing,
      `import agent from ${JSON.stringify(join(process.cwd(), 'src/demo/support-agent.ts'))};
export default { ...agent, create(context) { if (!context.env.MY_API_KEY) throw new Error('MY_API_KEY missing in env'); return agent.create(context); } };
`,
    );
    const unbuilt = await runCli(['replay', first, second, '--agent', throwing, '--db', copy]);
    expect(unbuilt.status).toBe(2);
    expect(unbuilt.stderr.match(/create\(\) threw: MY_API_KEY missing in env/g)).toHaveLength(1);
    expect(unbuilt.stderr).toContain("this process's environment");

    // A damaged tape is reported with what to do, and the other runs are still replayed.
    flipByteInLargestPack(copy);
    const damaged = await runCli(['replay', '--all', '--agent', 'src/demo/support-agent.ts', '--db', copy, '--json']);
    expect(damaged.status).toBe(1);
    const found = JSON.parse(damaged.stdout);
    expect(found.failed.length).toBeGreaterThan(0);
    expect(found.failed[0].error).toMatch(/damaged.*retrial verify/);
    expect(found.reproduced + found.diverged + found.failed.length).toBe(listed.total);
    expect(found.reproduced).toBeGreaterThan(0);
  });

  it('replay --all leaves out a run that never ended and says so', async () => {
    const copy = join(directory, 'unended.db');
    copyFileSync(pristine, copy);
    const listed = JSON.parse((await runCli(['runs', '--db', copy, '--json', '--limit', '1000', '--forks', 'include'])).stdout);
    // A run a crashed writer left behind, as `retrial` marks it when it opens the store.
    const database = new Database(copy);
    const { run_id: abandoned } = database.prepare("SELECT run_id FROM runs WHERE agent = 'support-agent' ORDER BY recorded_at LIMIT 1").get() as {
      run_id: string;
    };
    database.prepare("UPDATE runs SET status = 'incomplete' WHERE run_id = ?").run(abandoned);
    database.close();

    const batch = await runCli(['replay', '--all', '--agent', 'src/demo/support-agent.ts', '--db', copy, '--json']);
    expect(batch.status, batch.stdout.slice(0, 2000)).toBe(0);
    const result = JSON.parse(batch.stdout);
    expect(result).toMatchObject({ reproduced: listed.total - 1, diverged: 0, failed: [], skippedUnended: 1 });
    expect(result.results.map((entry: { runId: string }) => entry.runId)).not.toContain(abandoned);
    const text = await runCli(['replay', '--all', '--agent', 'src/demo/support-agent.ts', '--db', copy, '--limit', '5']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^5 of 5 runs reproduced exactly/m);
    expect(text.stdout).toContain('1 run never ended (recording or abandoned) and was left out.');
  });

  it('fork goes live at the decision step with another model, stubs writes, and the child replays', async () => {
    const db = join(directory, 'replay.db');
    const forked = await runCli([
      'fork',
      demo.incident.runId,
      '--db',
      db,
      '--at',
      String(demo.incident.decisionStep),
      '--agent',
      'src/demo/support-agent.ts',
      '--model',
      'sim:support-sim-2026-04-01',
      '--json',
    ]);
    expect(forked.stderr).toBe('');
    const result = JSON.parse(forked.stdout);
    expect(result.counts.stubbedWrites).toBe(1);
    expect(result.counts.liveModelCalls).toBeGreaterThanOrEqual(1);
    const shown = await runCli(['show', result.childRunId, '--db', db]);
    expect(shown.stdout).toContain(`forked from ${demo.incident.runId} at step ${demo.incident.decisionStep}`);
    expect(shown.stdout).toMatch(/support-sim-2026-04-01 → support-sim-2026-04-01,/);
    // The model call before the fork step came from the parent's tape; the ones from it went live.
    expect(shown.stdout).toMatch(/→ \S+ \[from the parent tape\], \d+ msgs/);
    expect(shown.stdout).toMatch(/\[write, stubbed\]/);
    // Before the fork step the child's reads were answered from the parent's tape, not stubbed.
    expect(shown.stdout).toMatch(/lookup_account \[read, from the parent tape\]/);
    expect(shown.stdout).toMatch(/policy-kb \[from the parent tape\]/);
    expect(shown.stdout).not.toMatch(/\[read, stubbed\]/);
    expect((await runCli(['replay', result.childRunId, '--db', db, '--agent', 'src/demo/support-agent.ts'])).status).toBe(0);
    // The fork child and its parent, replayed by one replayer: each with its own fork settings.
    const both = JSON.parse((await runCli(['replay', '--all', '--db', db, '--agent', 'src/demo/support-agent.ts', '--json'])).stdout);
    expect(both.results.map((replayed: { runId: string }) => replayed.runId)).toEqual(expect.arrayContaining([demo.incident.runId, result.childRunId]));
    expect(both).toMatchObject({ diverged: 0, failed: [] });
    expect(both.reproduced).toBe(both.results.length);
    // Forks are investigation artefacts: `runs` leaves them out and says so.
    const listed = await runCli(['runs', '--db', db, '--limit', '100000']);
    expect(listed.stdout).not.toContain(result.childRunId);
    expect(listed.stdout).toMatch(/1 forked run .* not listed; --forks include lists them/);
    const onlyForks = JSON.parse((await runCli(['runs', '--db', db, '--forks', 'only', '--json'])).stdout);
    expect(onlyForks.runs.map((run: { runId: string }) => run.runId)).toEqual([result.childRunId]);
    const forksTable = (await runCli(['runs', '--db', db, '--forks', 'only'])).stdout;
    expect(forksTable).toMatch(/FORKED FROM/);
    expect(forksTable.split('\n').find((line) => line.startsWith(result.childRunId))).toContain(demo.incident.runId);
    expect(listed.stdout).not.toMatch(/FORKED FROM/);
    const notModel = await runCli(['fork', demo.incident.runId, '--db', db, '--at', '0', '--agent', 'src/demo/support-agent.ts']);
    expect(notModel.status).toBe(2);
    expect(notModel.stderr).toMatch(/not a model step/);
  });

  it('fork says why it could not: an unknown step or prompt file (3), a dead endpoint (6, the failed child kept)', async () => {
    const db = join(directory, 'replay.db');
    const fork = (extra: string[], env?: Record<string, string>) =>
      runCli(['fork', demo.incident.runId, '--db', db, '--agent', 'src/demo/support-agent.ts', ...extra], env ? { env } : {});
    const noStep = await fork(['--at', '999']);
    expect(noStep.status).toBe(3);
    expect(noStep.stderr).toMatch(/has no step 999/);
    const noFile = await fork(['--at', String(demo.incident.decisionStep), '--system-prompt-file', join(directory, 'missing-prompt.txt')]);
    expect(noFile.status).toBe(3);
    expect(noFile.stderr.trim()).toMatch(/^retrial: --system-prompt-file \S+missing-prompt\.txt: no such file\.$/);
    const dead = await fork(['--at', String(demo.incident.decisionStep), '--model', 'openai:gpt-4o-mini'], {
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      OPENAI_API_KEY: 'sk-test',
    });
    expect(dead.status).toBe(6);
    expect(dead.stdout).toMatch(/the model endpoint failed: http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions is not answering/);
    const childRunId = /into (\S+)\./.exec(dead.stdout)?.[1] ?? '';
    const shown = await runCli(['show', childRunId, '--db', db]);
    expect(shown.status).toBe(0);
    // Its model events keep the URL the agent's SDK used; the header says where the calls went.
    expect(shown.stdout).toContain(`forked from ${demo.incident.runId} at step ${demo.incident.decisionStep}; live model calls went to http://127.0.0.1:9/v1`);
  });

  it('explain compares recorded with now and names what moved the outcome', async () => {
    // 2,000 samples per configuration: 3.5% against 0.3% clears p < 0.001 in all but about 1 in 1,000 runs.
    const result = await runCli(['explain', demo.incident.runId, '--db', join(directory, 'replay.db'), '--agent', 'src/demo/support-agent.ts', '-n', '2000']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/model\s+support-sim → support-sim-2026-01-15\s+support-sim → support-sim-2026-04-01\s+yes/);
    expect(result.stdout).toMatch(/Explained by: model and toolData/);
    expect(result.stdout).toMatch(/Not captured by the tape/);
  });

  it('report writes the postmortem repro report with every section and the stored analyses', async () => {
    const file = join(directory, 'incident.repro.md');
    const result = await runCli(['report', demo.incident.runId, '--db', join(directory, 'replay.db'), '--agent', 'src/demo/support-agent.ts', '-o', file]);
    expect(result.status).toBe(0);
    const markdown = readFileSync(file, 'utf8');
    for (const section of [
      '## What happened',
      '## What the model saw at step',
      '## Exact reproduction',
      'REPRODUCED',
      '## Behaviour rate at step',
      '## What moved since',
      '## Fidelity limits',
      '## Rerun every figure',
    ]) {
      expect(markdown).toContain(section);
    }
    expect(markdown).toContain('**account.action = close**');
    // The report shows what the latest stored explain found (a statistical result: it is read back, not assumed).
    const database = new Database(join(directory, 'replay.db'), { readonly: true });
    const stored = database
      .prepare("SELECT result_json FROM run_analyses WHERE run_id = ? AND kind = 'explain' ORDER BY created_at DESC, analysis_id DESC LIMIT 1")
      .get(demo.incident.runId) as { result_json: string };
    database.close();
    const factors = (JSON.parse(stored.result_json) as { explainingFactors: string[] }).explainingFactors;
    expect(factors).toEqual(expect.arrayContaining(['model', 'toolData']));
    expect(markdown).toContain(`Explained by: **${factors.join(' and ')}**`);
  });

  it('gives a one-line error and a meaningful exit code for an unknown run and a broken --db', async () => {
    const unknown = await runCli(['show', 'run_does_not_exist', '--db', db]);
    expect(unknown.status).toBe(3);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/No run with id "run_does_not_exist"/);
    const notADatabase = join(directory, 'notes.txt');
    writeFileSync(notADatabase, 'this is not a database\n'.repeat(100));
    const broken = await runCli(['runs', '--db', notADatabase]);
    expect(broken.status).toBe(4);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    expect(broken.stderr).toContain(notADatabase);
    const typo = join(directory, 'retrail.db');
    const missing = await runCli(['runs', '--db', typo]);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain(`No retrial store at ${typo}`);
    expect(existsSync(typo)).toBe(false);
    // Replay checks the store before the salt beside it, and an empty file is no store either.
    const replayTypo = await runCli(['replay', 'run_x', '--db', typo, '--agent', 'src/demo/support-agent.ts']);
    expect(replayTypo.status).toBe(3);
    expect(replayTypo.stderr).toContain(`No retrial store at ${typo}`);
    const empty = join(directory, 'empty.db');
    writeFileSync(empty, '');
    expect((await runCli(['runs', '--db', empty])).status).toBe(3);
    const noAgent = await runCli(['replay', 'run_x', '--db', db, '--agent', 'src/demo/no-such-agent.ts']);
    expect(noAgent.status).toBe(3);
    expect(noAgent.stderr).toMatch(/no such file .* the demo's is src\/demo\/support-agent\.ts/);
    const badFlag = await runCli(['runs', '--db', db, '--since', 'yesterday-ish']);
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/--since "yesterday-ish" is not a time/);
  });

  it('report shows the complete resample under its own command, not a newer partial one, and says so when -o cannot be written', async () => {
    const copy = join(directory, 'report-partial.db');
    copyFileSync(pristine, copy);
    const step = String(demo.incident.decisionStep);
    // The recorded model at a dead endpoint: the resample stores a partial result of 0 answers and exits 6.
    const dead = await runCli(['resample', demo.incident.runId, '--db', copy, '--step', step, '-n', '50', '--model', 'openai:support-sim'], {
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:59999/v1', OPENAI_API_KEY: 'd' },
    });
    expect(dead.status).toBe(6);
    const result = await runCli(['report', demo.incident.runId, '--db', copy, '-o', '-']);
    expect(result.status).toBe(0);
    const rate = result.stdout.slice(result.stdout.indexOf('## Behaviour rate'), result.stdout.indexOf('## What moved since'));
    // The demo's own resample: N=200, the recorded model, hypothesis close_account.
    expect(rate).toContain(`\`retrial resample ${demo.incident.runId} --step ${step} -n 200 --hypothesis close_account\``);
    expect(rate).toMatch(/Resampled 200 times .* with model `support-sim`/);
    expect(rate).toMatch(/Not shown: 1 newer partial resample at this step \(0 of 50 answers/);
    expect(rate).not.toContain('gpt-4o-mini');
    expect(rate).not.toContain('0 of 0');

    const unwritable = await runCli(['report', demo.incident.runId, '--db', copy, '-o', '/nonexistent/dir/x.md']);
    expect(unwritable.status).toBe(3);
    expect(unwritable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unwritable.stderr).toContain('Cannot write the report to /nonexistent/dir/x.md: no directory /nonexistent/dir.');
  });
});
