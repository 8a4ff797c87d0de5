import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createRecorder, defineAgent, loadOrCreateRedactionSalt, type PiiRule } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, openStore } from '../../src/store/index.ts';
import { runCli } from '../cli/run-cli.ts';

/**
 * Records runs that carry credentials and personal data in every place a URL, a header, a body,
 * an error, a note, a decision or the config can carry them, then looks for their bytes in
 * everything retrial leaves on disk: the database file and its -wal (rows as written while
 * recording), every row of every table with blobs and packs inflated (a finished run is deflated
 * into a pack, where a plain byte scan would not see it), the exported tapes and the report.
 */

const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), 'retrial-secrets-'));
  directories.push(directory);
  return directory;
}

/** A marker no other byte of the store can hold: every secret below contains its own. */
function marker(): string {
  return randomBytes(9).toString('hex').toUpperCase();
}

const m = {
  userinfo: marker(),
  queryGoog: marker(),
  queryClientSecret: marker(),
  queryAuthToken: marker(),
  querySession: marker(),
  querySig: marker(),
  headerAuthToken: marker(),
  headerPassword: marker(),
  headerGoog: marker(),
  headerCookie: marker(),
  responseCookie: marker(),
  responseSession: marker(),
  openai: marker(),
  anthropic: marker(),
  github: marker(),
  slack: marker(),
  aws: marker().slice(0, 16),
  google: marker(),
  jwt: marker(),
  bearer: marker(),
  email: marker().toLowerCase(),
  phone: marker(),
};

const secret = {
  password: `pw-${m.userinfo}`,
  openai: `sk-proj-${m.openai}abcdefghij`,
  anthropic: `sk-ant-api03-${m.anthropic}klmnopqrst`,
  github: `ghp_${m.github}abcdefghijklmnopqr`,
  slack: `xoxb-123456789012-${m.slack}`,
  aws: `AKIA${m.aws}`,
  google: `AIza${m.google}abcdefghijklmnopq`,
  jwt: `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi${m.jwt}.c2lnbmF0dXJl${m.jwt}`,
  bearer: `Bearer ${m.bearer}x9`,
  email: `ann.${m.email}@example.org`,
};
const keyShaped = [secret.openai, secret.anthropic, secret.github, secret.slack, secret.aws, secret.google, secret.jwt, secret.bearer];
/** One string carrying every key-shaped secret and the email, for the places that take text. */
const everything = `keys ${keyShaped.join(' ')} mail ${secret.email} at https://svc:${secret.password}@vault.example.test/x`;

const piiRules: PiiRule[] = [
  { name: 'email', pattern: /[\w.+-]+@example\.org/g },
  { name: 'phone', field: 'phone' },
];

const userinfoUrl = `https://svc:${secret.password}@files.example.test/data`;
const queryUrl =
  `https://files.example.test/users/${encodeURIComponent(secret.email)}/export?X-Goog-Api-Key=gk-${m.queryGoog}` +
  `&client-secret=cs-${m.queryClientSecret}&X_AUTH_TOKEN=xat-${m.queryAuthToken}&sessionid=sid-${m.querySession}` +
  `&sig=sg-${m.querySig}&email=${encodeURIComponent(secret.email)}&page=2`;
const requestHeaders = {
  'X-Custom-Auth-Token': `hat-${m.headerAuthToken}`,
  'x-service-password': `hpw-${m.headerPassword}`,
  'X-Goog-Api-Key': `hgk-${m.headerGoog}`,
  Cookie: `c=ck-${m.headerCookie}`,
  'content-type': 'application/json',
};

/** The world: a chat-completions model that echoes secrets back, and a file service. */
const baseFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  // A URL with userinfo fails in Node's own fetch, whose message quotes the URL, password and all.
  if (url.includes('@')) return fetch(url, init);
  const headers = {
    'content-type': 'application/json',
    'set-cookie': `sess=rsc-${m.responseCookie}`,
    'x-session-token': `rst-${m.responseSession}`,
  };
  if (url.includes('/chat/completions') && String(init?.body).includes('"stream":true')) {
    // A model streams its text a few characters at a time: no chunk holds a whole key.
    const content = `Streamed: ${everything}`;
    const deltas = content.match(/[\s\S]{1,5}/g) ?? [];
    const events = deltas.map(
      (delta) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: delta }, finish_reason: null }] })}\n\n`,
    );
    events.push(
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
      'data: [DONE]\n\n',
    );
    return new Response(events.join(''), { status: 200, headers: { ...headers, 'content-type': 'text/event-stream' } });
  }
  if (url.includes('/chat/completions')) {
    const body = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-2024-08-06',
      choices: [{ index: 0, message: { role: 'assistant', content: `Noted: ${everything}` }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    };
    return new Response(JSON.stringify(body), { status: 200, headers });
  }
  return new Response(JSON.stringify({ file: everything, phone: m.phone }), { status: 200, headers });
};

function chatBody(): string {
  return JSON.stringify({
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: `You help. Internal token ${secret.openai}` },
      { role: 'user', content: everything },
    ],
  });
}

async function recordSecrets(path: string): Promise<{ runIds: string[]; wal: Buffer[] }> {
  const store = await openStore(path);
  const rec = createRecorder({ store, agent: 'secrets-agent', redaction: { salt: 'secrets-salt', rules: piiRules }, baseFetch });
  const lookup = rec.tool('lookup', async (query: unknown) => ({ echo: query, found: everything, phone: m.phone, nested: [{ token: secret.github }] }), {
    effect: 'read',
  });
  const failing = rec.tool(
    'charge',
    async () => {
      throw new Error(`upstream ${userinfoUrl} refused key ${secret.google} for ${secret.email}`);
    },
    { effect: 'write' },
  );
  const search = rec.retrieval('kb', async (_query: string) => [{ body: everything }]);

  const agent = async (input: unknown) => {
    rec.config({
      promptVersion: `v1 ${secret.slack} ${secret.email}`,
      flags: { key: secret.aws, owner: secret.email },
      settings: { everything, phone: m.phone },
    });
    await rec.fetch('https://api.example.test/v1/chat/completions', { method: 'POST', headers: requestHeaders, body: chatBody() });
    const streamed = await rec.fetch('https://api.example.test/v1/chat/completions', {
      method: 'POST',
      headers: requestHeaders,
      body: JSON.stringify({ ...JSON.parse(chatBody()), stream: true }),
    });
    expect(await streamed.text()).toContain(secret.openai.slice(0, 5));
    await rec.fetch(`https://svc:${secret.password}@api.example.test/v1/chat/completions`, { method: 'POST', body: chatBody() }).catch(() => null);
    await rec.fetch(queryUrl, { headers: requestHeaders });
    await rec.fetch(userinfoUrl, { headers: requestHeaders }).catch(() => null);
    await rec.fetch(queryUrl, { method: 'POST', headers: requestHeaders, body: JSON.stringify({ upload: everything }) });
    await lookup({ q: everything, url: queryUrl, phone: m.phone });
    await failing().catch(() => null);
    await search(everything);
    rec.note(`note ${everything}`, { everything, phone: m.phone });
    rec.decide({
      type: 'refund',
      subject: `customer ${secret.email}`,
      value: `approve ${secret.email}`,
      amount: 10,
      currency: 'EUR',
      attributes: { reason: everything, owner: secret.email },
    });
    return { input, said: everything };
  };
  const externalIds = { ticket: `T-1 ${secret.email}` };
  const completed = await rec.run({ ask: everything, phone: m.phone }, agent, { runId: 'run_secrets_ok', externalIds });
  expect(completed.said).toBe(everything);
  await expect(
    rec.run(
      { ask: everything },
      async () => {
        throw new Error(`run failed at ${userinfoUrl} with ${secret.jwt} for ${secret.email}`);
      },
      { runId: 'run_secrets_failed', externalIds },
    ),
  ).rejects.toThrow(secret.jwt);

  // The -wal holds the rows as each flush wrote them, before packing moved them; keep it as it is
  // now (closing checkpoints it into the database file and removes it).
  await (store as { idle?: () => Promise<void> }).idle?.();
  const wal = ['-wal', '-shm'].filter((suffix) => existsSync(path + suffix)).map((suffix) => readFileSync(path + suffix));
  await store.close();
  return { runIds: ['run_secrets_ok', 'run_secrets_failed'], wal };
}

/** Every text the database holds, with blobs and packs inflated. */
function databaseTexts(path: string): Buffer[] {
  const database = new Database(path, { readonly: true });
  try {
    const out: Buffer[] = [];
    const tables = database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    for (const { name } of tables) {
      for (const row of database.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>) {
        for (const value of Object.values(row)) {
          if (typeof value === 'string') out.push(Buffer.from(value));
          else if (Buffer.isBuffer(value)) {
            out.push(value);
            try {
              out.push(inflateRawSync(value));
            } catch {
              // Not deflated by itself (a hash, or a pack deflated against a dictionary: below).
            }
          }
        }
      }
    }
    const packs = new Map<number, Buffer>();
    const rows = database.prepare('SELECT pack_id, data, dictionary_pack_id FROM packs').all() as Array<{
      pack_id: number;
      data: Buffer;
      dictionary_pack_id: number | null;
    }>;
    const byId = new Map(rows.map((row) => [row.pack_id, row]));
    const inflate = (id: number): Buffer => {
      const known = packs.get(id);
      if (known) return known;
      const row = byId.get(id);
      if (!row) throw new Error(`pack ${id} is missing`);
      const raw =
        row.dictionary_pack_id === null
          ? inflateRawSync(row.data)
          : inflateRawSync(row.data, { dictionary: inflate(row.dictionary_pack_id).subarray(-32 * 1024) });
      packs.set(id, raw);
      return raw;
    };
    for (const row of rows) out.push(inflate(row.pack_id));
    expect(rows.length, 'the finished runs were packed').toBeGreaterThan(0);
    return out;
  } finally {
    database.close();
  }
}

/** The markers found in `sources`, by secret name, with where. */
function leaks(sources: Record<string, Buffer[]>): string[] {
  const found: string[] = [];
  for (const [where, buffers] of Object.entries(sources))
    for (const [name, value] of Object.entries(m)) if (buffers.some((buffer) => buffer.includes(value))) found.push(`${name} in ${where}`);
  return found;
}

const ownerOnly = (path: string) => (statSync(path).mode & 0o077).toString(8);

describe('secrets stay out of everything retrial writes', () => {
  it('no credential or PII byte reaches the database, its -wal, packs, exported tapes or the report', { timeout: 120_000 }, async () => {
    const directory = scratch();
    const path = join(directory, 'store', 'retrial.db');
    const { runIds, wal } = await recordSecrets(path);

    const exports: Buffer[] = [];
    for (const runId of runIds) {
      const file = join(directory, `${runId}.tape.jsonl`);
      const exported = await runCli(['--db', path, 'export', runId, '-o', file]);
      expect(exported.stderr).toBe('');
      expect(exported.status).toBe(0);
      expect(ownerOnly(file)).toBe('0');
      exports.push(readFileSync(file));
    }
    const reportFile = join(directory, 'report.md');
    const report = await runCli(['--db', path, 'report', runIds[0] as string, '-o', reportFile]);
    expect(report.status).toBe(0);
    expect(ownerOnly(reportFile)).toBe('0');

    const database = databaseTexts(path);
    expect(
      leaks({
        'the database file': [readFileSync(path)],
        'the -wal and -shm': wal,
        'the rows, blobs and packs': database,
        'the exported tapes': exports,
        'the report': [readFileSync(reportFile)],
      }),
    ).toEqual([]);

    // The scan saw the runs: everything was recorded, as tokens where it was secret.
    const tape = exports[0]?.toString() ?? '';
    for (const kind of ['"kind":"model"', '"kind":"tool"', '"kind":"retrieval"', '"kind":"config"', '"kind":"note"', '"kind":"decision"', '"kind":"input"'])
      expect(tape, kind).toContain(kind);
    for (const token of ['credential', 'api-key', 'github-token', 'slack-token', 'aws-key', 'google-key', 'jwt', 'bearer', 'email', 'phone'])
      expect(tape, token).toMatch(new RegExp(`\\[redacted:${token}:[0-9a-f]{12}\\]`));
    expect(exports[1]?.toString()).toMatch(/"kind":"error"/);
    // Headers a replay does not need to see are dropped, not tokenised; the harmless ones stay.
    expect(tape).not.toMatch(/x-custom-auth-token|x-service-password|x-goog-api-key"|set-cookie|x-session-token/i);
    expect(tape).toContain('content-type');
    // The fetch that failed on userinfo is on the tape, its message without the password.
    expect(tape).toContain('Request cannot be constructed from a URL that includes credentials: https://files.example.test/data');
  });

  it('creates the database, its -wal and -shm, the salt file and their directory readable by the owner only', async () => {
    const directory = scratch();
    const path = join(directory, 'new', 'retrial.db');
    const store = await openStore(path);
    const rec = createRecorder({ store, agent: 'modes', redaction: { salt: 's' } });
    await rec.run({ a: 1 }, async () => 'ok');
    const files = readdirSync(join(directory, 'new'));
    expect(files).toEqual(expect.arrayContaining(['retrial.db', 'retrial.db-wal', 'retrial.db-shm']));
    for (const file of files) expect(ownerOnly(join(directory, 'new', file)), file).toBe('0');
    expect(ownerOnly(join(directory, 'new'))).toBe('0');
    await store.close();

    const saltDirectory = join(directory, 'salted', 'retrial.db');
    const previous = process.env.RETRIAL_REDACTION_SALT;
    delete process.env.RETRIAL_REDACTION_SALT;
    try {
      await loadOrCreateRedactionSalt(saltDirectory);
    } finally {
      if (previous !== undefined) process.env.RETRIAL_REDACTION_SALT = previous;
    }
    expect(ownerOnly(join(directory, 'salted', 'redaction-salt'))).toBe('0');
    expect(ownerOnly(join(directory, 'salted'))).toBe('0');
  });

  it('a replay redacts the config and decisions it compares as the recording did, so redacted ones match', async () => {
    const agent = defineAgent<string, string>({
      name: 'redacted-ledger',
      codeVersion: 'v1',
      piiRules,
      create({ rec }) {
        return async (customer) => {
          rec.config({ promptVersion: `v2 for ${customer}`, flags: { owner: customer, key: secret.aws } });
          rec.decide({ type: 'refund', subject: customer, value: `refund ${customer}`, attributes: { contact: customer, phone: m.phone } });
          return 'done';
        };
      },
    });
    const store = createMemoryStore();
    const rec = createRecorder({ store, agent: agent.name, redaction: { salt: 'secrets-salt', rules: piiRules } });
    await rec.run(secret.email, agent.create({ rec, env: {} }), { runId: 'run_redacted_ledger' });
    const [decision] = await store.listDecisions({});
    expect(decision?.subject).toMatch(/^\[redacted:email:[0-9a-f]{12}\]$/);
    const replayed = await replayRun({ store, runId: 'run_redacted_ledger', agent: agent as never, redactionSalt: 'secrets-salt' });
    expect(replayed.divergences).toEqual([]);
    expect(replayed.ok).toBe(true);
  });
});
