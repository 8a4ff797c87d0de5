import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

/** Answers the CLI got wrong (issue 14): each case states the right answer, checked end to end. */
const directory = mkdtempSync(join(tmpdir(), 'retrial-cli-answers-'));
const golden = join(process.cwd(), 'test', 'fixtures', 'golden', 'support-agent-incident.v1.tape.jsonl');
const db = join(directory, 'store.db');
let runId: string;

beforeAll(async () => {
  const tape = join(directory, 'incident.tape.jsonl');
  copyFileSync(golden, tape);
  runId = (JSON.parse(readFileSync(tape, 'utf8').split('\n')[0] as string) as { header: { runId: string } }).header.runId;
  expect((await runCli(['import', tape, '--db', db])).status).toBe(0);
}, 120_000);

describe('resample --classify-by', () => {
  it('counts the recorded answer as the same class as equal live answers, whatever their key order', async () => {
    // finishReason is { unified, raw } on the wire and { raw, unified } in the canonical tape.
    const result = await runCli(['resample', runId, '--db', db, '--step', '12', '-n', '4', '--classify-by', 'finishReason', '--json']);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as {
      recordedClass: string;
      hypothesis: { class: string; estimate: { successes: number } };
      distribution: Array<{ class: string; count: number }>;
    };
    expect(parsed.recordedClass).toBe('{"raw":"tool_calls","unified":"tool-calls"}');
    expect(parsed.distribution).toEqual([expect.objectContaining({ class: parsed.recordedClass, count: 4 })]);
    expect(parsed.hypothesis).toMatchObject({ class: parsed.recordedClass, estimate: { successes: 4 } });
  }, 120_000);
});

describe('sim serve', () => {
  it('on a port already in use is one line naming the port and what to do, exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const result = await runCli(['sim', 'serve', '--port', String(port)]);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(result.stderr.trim().split('\n')).toEqual([
        `retrial: Port ${port} on 127.0.0.1 is already in use (another simulator?). Stop what listens there, or pass --port <another> (--port 0 picks a free one).`,
      ]);
      expect(result.status).toBe(2);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  }, 120_000);
});
