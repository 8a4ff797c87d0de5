import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent, type PiiRule } from '../../src/record/index.ts';
import { forkRun, replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, exportRun, importRun, type Store } from '../../src/store/index.ts';
import { canonicalJson, chainRoot, RecorderFlag, type RunHeader } from '../../src/tape/index.ts';
import { editTape } from './edit-tape.ts';
import { createOldRedactor } from './old-redactor.ts';

/**
 * Tapes recorded before the wide redaction (RecorderFlag.WideRedaction) kept credential-shaped
 * text as it was: a signed URL's credential, a JWT in a tool argument, an API key in a model
 * message. Today's replay redacts the replayed call with today's rules; such a tape must still
 * reproduce, and fork, while a real change of those calls still diverges. The old tape is made by
 * recording with the redactor of that time (old-redactor.ts) and a header without the flag.
 */

const recordWith = vi.hoisted(() => ({ oldRedactor: false }));
vi.mock('../../src/record/redaction.ts', async (importOriginal) => {
  const today = await importOriginal<typeof import('../../src/record/redaction.ts')>();
  return {
    ...today,
    createRedactor: (options: Parameters<typeof today.createRedactor>[0]) =>
      recordWith.oldRedactor ? createOldRedactor(options) : today.createRedactor(options),
  };
});

const SALT = 'old-redaction-salt';
const RULES: PiiRule[] = [{ name: 'email', pattern: /[a-z]+@example\.com/ }];
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDLTEiLCJleHAiOjE3OTk5OTk5OTl9.c2lnbmF0dXJlLXZhbHVlLW9mLWp3dA';
const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
const SIGNED = 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Expires=900';

let simulator: Awaited<ReturnType<typeof startSimulatorServer>>;
let files: Server;
let filesUrl = '';
let store: Store;

interface Variant {
  path?: string;
  signature?: string;
  customer?: string;
  jwt?: string;
  words?: string;
  key?: string;
  upstream?: string;
  ticketRef?: string;
}

/**
 * Runs with a config naming an upstream with userinfo, fetches a signed report, looks the customer
 * up with a session JWT, asks the model twice (the first time quoting a key), decides with a JWT in
 * an attribute.
 */
function agent(variant: Variant = {}) {
  return defineAgent<{ ticket: string }, unknown, unknown>({
    name: 'old-redaction-agent',
    codeVersion: 't',
    piiRules: RULES,
    create({ rec }) {
      const lookup = rec.tool('lookup', async (query: { customer: string; session: string }) => ({ customer: query.customer, balance: 5 }), { effect: 'read' });
      const ask = (text: string) =>
        rec
          .fetch(`${simulator.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer sim' },
            body: JSON.stringify({ model: 'support-sim', messages: [{ role: 'user', content: text }], temperature: 0 }),
          })
          .then((response) => response.text());
      return async (input) => {
        rec.config({ promptVersion: 'p1', flags: { upstream: variant.upstream ?? 'https://svc:hunter2@internal.example.org/v1' } });
        const report = await rec
          .fetch(`${filesUrl}/reports/${variant.path ?? 'q3'}.pdf?${SIGNED}&X-Amz-Signature=${variant.signature ?? 'abc123def4567890abc123def4567890'}`)
          .then((response) => response.text());
        const account = await lookup({ customer: variant.customer ?? 'C-1', session: variant.jwt ?? JWT });
        const first = await ask(`${input.ticket}: my key ${variant.key ?? KEY} leaked, ${variant.words ?? 'please rotate it'} (ann@example.com)`);
        const second = await ask('anything else?');
        rec.decide({ type: 'refund', subject: 'C-1', value: 'approve', attributes: { ticketRef: variant.ticketRef ?? `T-1 ${JWT}` } });
        return { report, account, first, second };
      };
    },
  });
}

async function record(target: Store, runId: string, oldRedactor: boolean): Promise<void> {
  recordWith.oldRedactor = oldRedactor;
  try {
    const rec = createRecorder({ store: target, agent: 'old-redaction-agent', redaction: { salt: SALT, rules: RULES } });
    await rec.run({ ticket: 'T-1' }, agent().create({ rec, env: {} }), { runId });
  } finally {
    recordWith.oldRedactor = false;
  }
}

/** A portable tape under another run id with its header's recorder flags replaced (hashes taken again). */
function withFlags(text: string, flags: (current: number[]) => number[], runId: string): string {
  const [first, ...rest] = text.trimEnd().split('\n');
  const run = JSON.parse(first as string) as { header: RunHeader; rootHash: string };
  const header = { ...run.header, runId, recorderFlags: flags(run.header.recorderFlags) };
  return editTape([canonicalJson({ ...run, header, rootHash: chainRoot(header) }), ...rest].join('\n'), (events) => events);
}

let oldTape = '';

beforeAll(async () => {
  simulator = await startSimulatorServer({ port: 0, seed: 'old-redaction' });
  files = createServer((request, response) => response.end(`report ${request.url?.split('?')[0]}`));
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  const recording = createMemoryStore();
  await record(recording, 'run_recorded', true);
  oldTape = await exportRun(recording, 'run_recorded');
  store = createMemoryStore();
  // As the recorder before the flag wrote it.
  await importRun(
    store,
    withFlags(oldTape, (flags) => flags.filter((flag) => flag !== RecorderFlag.WideRedaction), 'run_old'),
  );
  // The same bytes claiming today's redaction: compared exactly, so they must diverge.
  await importRun(
    store,
    withFlags(oldTape, (flags) => flags, 'run_old_flagged'),
  );
  await record(store, 'run_new', false);
}, 60_000);
afterAll(async () => {
  await simulator.close();
  await new Promise((resolve) => files.close(resolve));
});

const replay = (runId: string, variant: Variant = {}) => replayRun({ store, runId, agent: agent(variant) as never, redactionSalt: SALT, lenient: true });
const divergedAt = (result: Awaited<ReturnType<typeof replay>>) => result.divergences.map(({ code, causalKey }) => `${code} ${causalKey}`);

describe('a tape recorded before the wide redaction', () => {
  it('holds the credential-shaped text as that recorder kept it', async () => {
    expect(oldTape).toContain(JWT);
    expect(oldTape).toContain(KEY);
    expect(oldTape).toContain('X-Amz-Credential=AKIAIOSFODNN7EXAMPLE');
    expect(oldTape).toContain('X-Amz-Signature=%5Bredacted%5D');
    expect(oldTape).toContain('svc:hunter2@internal');
    expect((await loadTape(store, 'run_old')).run.header.recorderFlags).not.toContain(RecorderFlag.WideRedaction);
    expect((await loadTape(store, 'run_new')).run.header.recorderFlags).toContain(RecorderFlag.WideRedaction);
  });

  it('replays reproduced by the same code', async () => {
    const result = await replay('run_old');
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it.each<[string, Variant, string]>([
    ['another report path', { path: 'q4' }, 'PAYLOAD_MISMATCH http:GET#0'],
    ['another customer next to the JWT', { customer: 'C-2' }, 'PAYLOAD_MISMATCH tool:lookup#0'],
    ['another JWT', { jwt: `${JWT.slice(0, -4)}AAAA` }, 'PAYLOAD_MISMATCH tool:lookup#0'],
    ['other words next to the key', { words: 'keep it' }, 'PAYLOAD_MISMATCH model:openai-chat#0'],
    ['another key', { key: `${KEY.slice(0, -4)}AAAA` }, 'PAYLOAD_MISMATCH model:openai-chat#0'],
    ['another upstream in the config flags', { upstream: 'https://svc:hunter2@other.example.org/v1' }, 'PAYLOAD_MISMATCH config:config#0'],
    ['another JWT in a decision', { ticketRef: `T-1 ${JWT.slice(0, -4)}AAAA` }, 'OUTPUT_MISMATCH decision:refund#0'],
  ])('still diverges on a real change: %s', async (_what, variant, expected) => {
    expect(divergedAt(await replay('run_old', variant))).toEqual([expected]);
  });

  it('forks: the calls before the fork step are the parent', async () => {
    const tape = await loadTape(store, 'run_old');
    const atSeq = tape.events.filter((event) => event.kind === 'model')[1]?.seq ?? -1;
    const fork = (variant: Variant, childRunId: string) =>
      forkRun({
        store,
        runId: 'run_old',
        atSeq,
        agent: agent(variant) as never,
        redactionSalt: SALT,
        overrides: { model: 'support-sim-2026-04-01' },
        reads: 'frozen',
        endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
        childRunId,
      });
    const same = await fork({}, 'run_old_child');
    expect(same.refusal).toBeNull();
    expect(same.error).toBeNull();
    expect(same.counts).toMatchObject({ servedFromParent: 3, liveModelCalls: 1 });
    expect((await fork({ words: 'keep it' }, 'run_old_child_words')).refusal).toMatch(/the request at model:openai-chat#0 .* differs from the parent's/);
    expect((await fork({ customer: 'C-2' }, 'run_old_child_customer')).refusal).toMatch(/called tool:lookup#0 with arguments the parent did not use there/);
  }, 60_000);
});

describe('a tape with RecorderFlag.WideRedaction', () => {
  it('recorded today replays reproduced, and a changed JWT diverges', async () => {
    expect((await replay('run_new')).divergences).toEqual([]);
    expect(divergedAt(await replay('run_new', { jwt: `${JWT.slice(0, -4)}AAAA` }))).toEqual(['PAYLOAD_MISMATCH tool:lookup#0']);
  });

  it('is compared exactly: unredacted credential text under the flag is a difference', async () => {
    expect(divergedAt(await replay('run_old_flagged'))).toEqual([
      'PAYLOAD_MISMATCH config:config#0',
      'PAYLOAD_MISMATCH http:GET#0',
      'PAYLOAD_MISMATCH tool:lookup#0',
      'PAYLOAD_MISMATCH model:openai-chat#0',
      'OUTPUT_MISMATCH decision:refund#0',
    ]);
  });
});
