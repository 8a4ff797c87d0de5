import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDemoWorld } from '../../src/demo/index.ts';
import { runCli } from '../cli/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'retrial-service-'));
const database = join(directory, 'service.db');
let service: ChildProcess | undefined;
afterAll(() => {
  if (service?.exitCode === null) service.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});

/** Starts examples/service/server.ts as its own process and resolves with its URL once it listens. */
function startService(): Promise<{ url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/service/server.ts'], {
    env: { ...process.env, RETRIAL_DB: database, PORT: '0', RETRIAL_REDACTION_SALT: '', RETRIAL_MODEL_BASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service = child;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const url = /listening on (http:\/\/\S+),/.exec(stdout)?.[1];
      if (url) resolve({ url, exited });
    });
    void exited.then((code) => reject(new Error(`the service exited (${code}) before listening: ${stderr}`)));
  });
}

describe('examples/service: a long-running service records each request through its agent module', () => {
  it('records concurrent requests, hands back each run id, and every run replays REPRODUCED with retrial replay --agent', async () => {
    const { url, exited } = await startService();
    const world = createDemoWorld({ runs: 2000, endAt: Date.now() });
    const tickets = [...new Map(world.tickets.map((scheduled) => [`${scheduled.ticket.category}/${scheduled.ticket.channel}`, scheduled.ticket])).values()];
    const more = world.tickets.slice(0, 6).map((scheduled) => scheduled.ticket);
    const sent = [...tickets, ...more];
    expect(tickets.length).toBe(6);

    const answers = await Promise.all(
      sent.map(async (ticket) => {
        const response = await fetch(`${url}/tickets`, { method: 'POST', body: JSON.stringify(ticket) });
        return { status: response.status, body: (await response.json()) as { runId: string; reply: string; actions: string[] } };
      }),
    );
    for (const answer of answers) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.runId).toMatch(/^run_/);
      expect(typeof answer.body.reply).toBe('string');
    }
    const runIds = answers.map((answer) => answer.body.runId);
    expect(new Set(runIds).size).toBe(sent.length);

    service?.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The recorder kept the salt beside the store, where replay looks for it.
    expect(statSync(join(directory, 'redaction-salt')).mode & 0o777).toBe(0o600);

    // Replayed from this process's environment: the model's base URL points nowhere, and does not matter.
    const elsewhere = { RETRIAL_MODEL_BASE_URL: 'http://127.0.0.1:9/v1', RETRIAL_REDACTION_SALT: '' };
    const batch = await runCli(['replay', ...runIds, '--agent', 'src/demo/support-agent.ts', '--db', database], { env: elsewhere });
    expect(batch.stdout).toContain(`${sent.length} of ${sent.length} runs reproduced exactly, 0 diverged`);
    expect(batch.status).toBe(0);
    const one = await runCli(['replay', runIds[0] as string, '--agent', 'src/demo/support-agent.ts', '--db', database], { env: elsewhere });
    expect(one.stdout).toMatch(new RegExp(`^REPRODUCED ${runIds[0]}: `));

    // Each run carries the request's ticket, so it is found by it.
    const listed = await runCli(['runs', '--subject', sent[0]?.ticketId as string, '--db', database, '--json']);
    expect(listed.stdout).toContain(runIds[0]);
  }, 180_000);
});
