import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from './run-cli.ts';

/**
 * Bad input a user can give the CLI: each case must end in one line on stderr that says what was
 * wrong, with the documented exit status (src/cli/exit-codes.ts), never "internal error" and a stack.
 */
const directory = mkdtempSync(join(tmpdir(), 'retrial-cli-errors-'));
const golden = join(process.cwd(), 'test', 'fixtures', 'golden', 'support-agent-incident.v1.tape.jsonl');
const tape = join(directory, 'incident.tape.jsonl');
const db = join(directory, 'store.db');
let runId: string;

function expectOneLine(result: CliResult, status: number, message: RegExp): void {
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(message);
  expect(result.status).toBe(status);
}

beforeAll(async () => {
  copyFileSync(golden, tape);
  runId = (JSON.parse(readFileSync(tape, 'utf8').split('\n')[0] as string) as { header: { runId: string } }).header.runId;
  const imported = await runCli(['import', tape, '--db', db]);
  expect(imported.status).toBe(0);
}, 120_000);

describe('files and directories named on the command line', () => {
  it('export into a directory that does not exist names the directory, exit 3', async () => {
    const missing = join(directory, 'no-such-dir');
    const result = await runCli(['export', runId, '--db', db, '-o', join(missing, 'x.tape.jsonl')]);
    expectOneLine(result, 3, new RegExp(`the directory ${missing} does not exist`));
  }, 120_000);

  it('import of a directory says it is a directory, exit 3, and creates no store', async () => {
    const target = join(directory, 'never', 'made.db');
    const result = await runCli(['import', directory, '--db', target]);
    expectOneLine(result, 3, /found a directory at/);
    expect(existsSync(join(directory, 'never'))).toBe(false);
  }, 120_000);
});

describe('import of a malformed tape', () => {
  it('a value nested 100,000 levels deep is one line naming the line, exit 5', async () => {
    const lines = readFileSync(tape, 'utf8').split('\n');
    const blobLine = lines.findIndex((line) => line.includes('"type":"blob"'));
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    lines[blobLine] = (lines[blobLine] as string).replace(/,"value":/, `,"value":${deep},"other":`);
    const deepTape = join(directory, 'deep.tape.jsonl');
    writeFileSync(deepTape, lines.join('\n'));
    const result = await runCli(['import', deepTape, '--db', join(directory, 'deep.db')]);
    expectOneLine(result, 5, new RegExp(`line ${blobLine + 1}: a value is nested 100001 levels deep`));
  }, 120_000);

  it('a failed import into a new store leaves no store, -wal, -shm or directory behind', async () => {
    const truncated = join(directory, 'truncated.tape.jsonl');
    writeFileSync(truncated, readFileSync(tape, 'utf8').slice(0, 300));
    const parent = join(directory, 'fresh');
    const target = join(parent, 'nested', 'new.db');
    const result = await runCli(['import', truncated, '--db', target]);
    expectOneLine(result, 5, /line 1: not valid JSON/);
    expect(existsSync(parent)).toBe(false);
    // A failed import into a store that existed keeps the store and what it held.
    const kept = await runCli(['import', truncated, '--db', db]);
    expect(kept.status).toBe(5);
    expect((await runCli(['show', runId, '--db', db])).status).toBe(0);
  }, 120_000);

  it('a failed import keeps a directory that existed before it', async () => {
    const parent = join(directory, 'existing');
    mkdirSync(parent);
    writeFileSync(join(parent, 'notes.txt'), 'mine');
    const truncated = join(directory, 'truncated2.tape.jsonl');
    writeFileSync(truncated, readFileSync(tape, 'utf8').slice(0, 300));
    const result = await runCli(['import', truncated, '--db', join(parent, 'new.db')]);
    expect(result.status).toBe(5);
    expect(readdirSync(parent)).toEqual(['notes.txt']);
  }, 120_000);
});

/** A local port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('resample against an endpoint that never answers', () => {
  it.each([1, 2])(
    '-n %i where every request fails is exit 6 naming the endpoint, not a PARTIAL result with exit 0',
    async (n) => {
      const port = await closedPort();
      const result = await runCli(['resample', runId, '--db', db, '--step', '12', '-n', String(n), '--model', 'openai:gpt-x'], {
        env: { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_API_KEY: 'test-key' },
      });
      expectOneLine(
        result,
        6,
        new RegExp(`127\\.0\\.0\\.1:${port}/v1/chat/completions is not answering.*no answer came back \\(all ${n} requests sent failed\\)`),
      );
      expect(result.stdout).not.toMatch(/PARTIAL/);
    },
    120_000,
  );
});

describe('other bad input that used to end in "internal error"', () => {
  it('sim serve --alias naming no simulator version is a usage error, exit 2', async () => {
    const result = await runCli(['sim', 'serve', '--port', '0', '--alias', 'support-sim=bogus']);
    expectOneLine(result, 2, /--alias support-sim=bogus: "bogus" is not a simulator version; use one of support-sim-2026-01-15/);
  }, 120_000);

  it('backfill plan --prices naming no file is exit 3 (not found), not 5 (malformed)', async () => {
    const args = ['backfill', 'plan', '--db', db, '--type', 'refund.category', '--candidate', 'sim:support-sim-2026-04-01'];
    expectOneLine(await runCli([...args, '--prices', join(directory, 'none.json')]), 3, /--prices \S+none\.json: no such file/);
    expectOneLine(await runCli([...args, '--prices', directory]), 3, /--prices \S+: is a directory/);
  }, 120_000);

  it('a Node system error that escapes a command is one line with a documented exit code', async () => {
    // --db naming a file inside a regular file: the store's directory cannot exist.
    const notADirectory = join(directory, 'plain-file');
    writeFileSync(notADirectory, 'x');
    const result = await runCli(['import', tape, '--db', join(notADirectory, 'store.db')]);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect([3, 4]).toContain(result.status);
  }, 120_000);
});
