import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { portableSiteName } from '../../src/record/index.ts';
import type { Divergence } from '../../src/replay/index.ts';
import { keyedEvents } from '../../src/replay/portable-keys.ts';
import { canonicalJson, chainRoot, type RunHeader, type TapeEvent } from '../../src/tape/index.ts';
import { editTape } from './edit-tape.ts';

/**
 * A tape names nothing of the machine it was recorded on. Recorded by the agent compiled to
 * JavaScript in one directory, with hoisted node_modules, it reproduces from the TypeScript source
 * under another file name in another directory, from another working directory, and with
 * node_modules nested or laid out as pnpm does; a real change in the code still diverges.
 * Each record and replay runs in a process of its own, started in the directory under test.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const CHILD = fileURLToPath(new URL('./portable-keys-child.ts', import.meta.url));

/** The agent: draws directly, in an anonymous callback, through two packages and the OpenAI client. */
const AGENT_SOURCE = `import OpenAI from 'openai';
import { backoff } from 'retry-kit';

interface Rec { fetch: typeof fetch }
type Env = Record<string, string | undefined>;
type Ticket = { ticket: string };

class TicketHandler {
  private readonly openai: OpenAI;
  constructor(private readonly rec: Rec, private readonly env: Env) {
    this.openai = new OpenAI({ apiKey: env.OPENAI_API_KEY ?? 'replay', baseURL: env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', fetch: rec.fetch, maxRetries: 0 });
  }

  async handle(input: Ticket) {
    const sample: number = Math.random();
    const requestId: string = crypto.randomUUID();
    const weights = [1, 2, 3].map(() => Math.random());
    const delays = backoff(3);
    const accounts = this.env.ACCOUNTS_URL ?? 'http://accounts.internal:8080';
    const response = await this.rec.fetch(\`\${accounts}/accounts/C-1\`, { headers: { 'user-agent': \`acme-agent/\${this.env.APP_VERSION ?? 'dev'}\` } });
    const account: unknown = await response.json();
    const completion = await this.openai.chat.completions.create({ model: 'support-sim', messages: [{ role: 'user', content: input.ticket }] });
    /* EDIT */
    return { sample, requestId, weights, delays, account, answer: completion.choices[0]?.message.content ?? null };
  }
}

export default {
  name: 'portable-agent',
  codeVersion: 'v1',
  create({ rec, env }: { rec: Rec; env: Env }) {
    const handler = new TicketHandler(rec, env);
    return (input: Ticket) => handler.handle(input);
  },
};
`;

const RETRY_KIT = `import { jitter } from '@acme/jitter';
export function backoff(attempts) {
  const base = 100 * (1 + Math.random());
  return Array.from({ length: attempts }, (_, attempt) => jitter(base * 2 ** attempt));
}
`;
const JITTER = `export function jitter(ms) {
  return ms * (0.5 + Math.random());
}
`;

function writePackage(dir: string, name: string, entry: string, source: string): void {
  mkdirSync(dirname(join(dir, entry)), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports: `./${entry}` }));
  writeFileSync(join(dir, entry), source);
}

/** A project directory: `package.json`, the OpenAI client (linked), retry-kit and @acme/jitter laid out as `layout` says. */
function project(root: string, layout: 'hoisted' | 'nested' | 'pnpm'): void {
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'app', type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules/openai'), join(root, 'node_modules/openai'), 'dir');
  const modules = join(root, 'node_modules');
  if (layout === 'hoisted') {
    writePackage(join(modules, 'retry-kit'), 'retry-kit', 'index.mjs', RETRY_KIT);
    writePackage(join(modules, '@acme/jitter'), '@acme/jitter', 'index.mjs', JITTER);
  } else if (layout === 'nested') {
    writePackage(join(modules, 'retry-kit'), 'retry-kit', 'dist/esm/kit.js', RETRY_KIT);
    writePackage(join(modules, 'retry-kit/node_modules/@acme/jitter'), '@acme/jitter', 'dist/esm/jitter.js', JITTER);
  } else {
    const store = join(modules, '.pnpm');
    const kit = join(store, 'retry-kit@1.4.2/node_modules/retry-kit');
    const jitter = join(store, '@acme+jitter@2.0.0/node_modules/@acme/jitter');
    writePackage(kit, 'retry-kit', 'lib/index.js', RETRY_KIT);
    writePackage(jitter, '@acme/jitter', 'lib/index.js', JITTER);
    mkdirSync(join(store, 'retry-kit@1.4.2/node_modules/@acme'), { recursive: true });
    symlinkSync(jitter, join(store, 'retry-kit@1.4.2/node_modules/@acme/jitter'), 'dir');
    symlinkSync(kit, join(modules, 'retry-kit'), 'dir');
  }
}

interface ChildResult {
  output?: unknown;
  ok?: boolean;
  divergences?: Divergence[];
}

/** Runs portable-keys-child.ts in `cwd`; resolves with the JSON line it prints. */
function child(mode: 'record' | 'replay', agent: string, tape: string, env: Record<string, string>, cwd: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', TSX, CHILD, mode, agent, tape, JSON.stringify(env)], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    process_.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    process_.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    process_.on('error', reject);
    process_.on('close', (status) => {
      if (status !== 0) reject(new Error(`${mode} in ${cwd} exited ${status}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string) as ChildResult);
    });
  });
}

/** Replayed with another accounts host and port, and another client version, than recorded. */
const REPLAY_ENV = { ACCOUNTS_URL: 'http://127.0.0.1:9', APP_VERSION: '9.9.9' };

let temp = '';
let tapeFile = '';
let tapeText = '';
const dirs = { compiled: '', renamed: '', elsewhere: '', pnpm: '', changed: '' };
let closeSimulator: () => Promise<void> = async () => {};
let accounts: http.Server | undefined;

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'retrial-portable-'));
  for (const name of Object.keys(dirs) as Array<keyof typeof dirs>) {
    dirs[name] = join(temp, name);
    mkdirSync(dirs[name]);
  }
  // Production: the agent compiled by tsc into dist/, started from the project directory.
  project(dirs.compiled, 'hoisted');
  mkdirSync(join(dirs.compiled, 'dist'));
  const compiled = ts.transpileModule(AGENT_SOURCE, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
  writeFileSync(join(dirs.compiled, 'dist/support-agent.js'), compiled.outputText);
  // The on-call checkout: the TypeScript source, the file renamed and moved, node_modules nested.
  project(dirs.renamed, 'nested');
  mkdirSync(join(dirs.renamed, 'src/agents'), { recursive: true });
  writeFileSync(join(dirs.renamed, 'src/agents/ticket-handler.ts'), AGENT_SOURCE);
  // Another checkout with pnpm's layout; and one where the code really changed.
  project(dirs.pnpm, 'pnpm');
  mkdirSync(join(dirs.pnpm, 'lib'));
  writeFileSync(join(dirs.pnpm, 'lib/handler.ts'), AGENT_SOURCE);
  project(dirs.changed, 'hoisted');
  writeFileSync(join(dirs.changed, 'agent.ts'), AGENT_SOURCE.replace('/* EDIT */', 'const tieBreak = Math.random();\n    void tieBreak;'));
  writeFileSync(join(dirs.changed, 'clock-agent.ts'), AGENT_SOURCE.replace('/* EDIT */', 'const answeredAt = Date.now();\n    void answeredAt;'));

  const simulator = await startSimulatorServer({ port: 0, seed: 'portable-keys' });
  closeSimulator = simulator.close;
  accounts = http.createServer((_request, response) => response.end(JSON.stringify({ id: 'C-1', plan: 'pro' })));
  await new Promise<void>((resolve) => accounts?.listen(0, '127.0.0.1', resolve));
  const accountsUrl = `http://127.0.0.1:${(accounts.address() as { port: number }).port}`;

  tapeFile = join(temp, 'run.tape.jsonl');
  const recorded = await child(
    'record',
    join(dirs.compiled, 'dist/support-agent.js'),
    tapeFile,
    { OPENAI_BASE_URL: `${simulator.url}/v1`, OPENAI_API_KEY: 'sim', ACCOUNTS_URL: accountsUrl, APP_VERSION: '2.4.1' },
    dirs.compiled,
  );
  expect(recorded.output).toMatchObject({ account: { id: 'C-1' } });
  tapeText = readFileSync(tapeFile, 'utf8');
}, 180_000);

afterAll(async () => {
  await closeSimulator();
  await new Promise((resolve) => (accounts ? accounts.close(resolve) : resolve(undefined)));
  if (temp) rmSync(temp, { recursive: true, force: true });
});

function tapeEvents(text: string): TapeEvent[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; event?: TapeEvent })
    .filter((line) => line.type === 'event')
    .map((line) => line.event as TapeEvent);
}

describe('a tape recorded by compiled JavaScript replays from anywhere', () => {
  it('its keys name functions and packages, nothing of the machine', () => {
    const keys = tapeEvents(tapeText)
      .filter((event) => event.kind === 'random' || event.kind === 'tool')
      .map((event) => event.key);
    expect(new Set(keys.map((key) => key.slice(0, key.lastIndexOf('#'))))).toEqual(
      new Set([
        'random:TicketHandler.handle',
        'random:<anonymous in TicketHandler.handle>',
        'random:retry-kit#backoff',
        'random:@acme/jitter#jitter',
        'random:openai#OpenAI.makeRequest',
        'http:GET',
      ]),
    );
    expect(keys).toContain('random:<anonymous in TicketHandler.handle>#2');
    expect(keys).toContain('random:@acme/jitter#jitter#2');
  });

  it.each<[string, () => string, () => string]>([
    ['the TypeScript source, renamed and moved, with nested node_modules', () => join(dirs.renamed, 'src/agents/ticket-handler.ts'), () => dirs.renamed],
    ['the same source started from a third working directory', () => join(dirs.renamed, 'src/agents/ticket-handler.ts'), () => dirs.elsewhere],
    ['node_modules laid out as pnpm does (.pnpm/<pkg>@<version>/node_modules/<pkg>)', () => join(dirs.pnpm, 'lib/handler.ts'), () => join(dirs.pnpm, 'lib')],
  ])(
    'reproduces with %s',
    async (_what, agent, cwd) => {
      const result = await child('replay', agent(), tapeFile, REPLAY_ENV, cwd());
      expect(result.divergences).toEqual([]);
      expect(result.ok).toBe(true);
    },
    120_000,
  );

  it('an extra draw in the agent still diverges, naming the site', async () => {
    const result = await child('replay', join(dirs.changed, 'agent.ts'), tapeFile, REPLAY_ENV, dirs.changed);
    expect(result.ok).toBe(false);
    expect(result.divergences?.map(({ code, causalKey }) => ({ code, causalKey }))).toEqual([
      { code: 'UNSANCTIONED_NONDETERMINISM', causalKey: 'random:TicketHandler.handle#2' },
    ]);
    expect(result.divergences?.[0]?.message).toBe('the code read random:TicketHandler.handle where the tape recorded no such read');
  }, 120_000);

  it('an extra clock read diverges, naming the site in its portable form', async () => {
    const result = await child('replay', join(dirs.changed, 'clock-agent.ts'), tapeFile, REPLAY_ENV, dirs.changed);
    expect(result.divergences?.map(({ code, message }) => ({ code, message }))).toEqual([
      {
        code: 'UNSANCTIONED_NONDETERMINISM',
        message: expect.stringMatching(/^the code read clock:Date\.now at TicketHandler\.handle where the tape recorded no such read$/),
      },
    ]);
  }, 120_000);
});

/** The tape as a recorder before portable keys wrote it in the compiled project (paths relative to its working directory). */
function asRecordedBefore(text: string, streamOf: (portable: string) => string): string {
  const lines = text.trimEnd().split('\n');
  const run = JSON.parse(lines[0] as string) as { header: RunHeader; rootHash: string };
  const header = { ...run.header, recorderFlags: [1, 2, 3] };
  const withOldHeader = [canonicalJson({ ...run, header, rootHash: chainRoot(header) }), ...lines.slice(1)].join('\n');
  return editTape(withOldHeader, (events) =>
    events.map((event) => {
      const key = event.key as string;
      if (event.kind === 'random') {
        const stream = streamOf(event.stream as string);
        return { ...event, stream, key: `random:${stream}${key.slice(key.lastIndexOf('#'))}` };
      }
      if (event.kind === 'tool') return { ...event, key: key.replace('http:GET#', 'http:GET 127.0.0.1:4100#') };
      return event;
    }),
  );
}

describe('tapes recorded before keys were portable', () => {
  const compiledLine = () =>
    ts
      .transpileModule(AGENT_SOURCE, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } })
      .outputText.split('\n')
      .findIndex((line) => line.includes('.map(() => Math.random())')) + 1;
  const oldStream = (portable: string) =>
    ({
      'TicketHandler.handle': 'dist/support-agent.js#TicketHandler.handle',
      '<anonymous in TicketHandler.handle>': `dist/support-agent.js:${compiledLine()}`,
      'retry-kit#backoff': 'node_modules/retry-kit/index.mjs#backoff',
      '@acme/jitter#jitter': '/srv/app/node_modules/@acme/jitter/index.mjs#jitter',
      'openai#OpenAI.makeRequest': 'node_modules/openai/client.mjs#OpenAI.makeRequest',
    })[portable] ?? portable;

  it('replay brings file paths and hosts in keys to the portable form (and an anonymous site by file and line, where it was recorded)', async () => {
    const old = join(temp, 'old.tape.jsonl');
    writeFileSync(old, asRecordedBefore(tapeText, oldStream));
    expect(readFileSync(old, 'utf8')).toContain('"key":"random:node_modules/retry-kit/index.mjs#backoff#0"');
    const result = await child('replay', join(dirs.compiled, 'dist/support-agent.js'), old, REPLAY_ENV, dirs.compiled);
    expect(result.divergences).toEqual([]);
  }, 120_000);

  it('a recorded site that differs only by path is said to', async () => {
    const old = join(temp, 'vendored.tape.jsonl');
    // The OpenAI client had been vendored into the app: the same function, outside node_modules.
    writeFileSync(
      old,
      asRecordedBefore(tapeText, (portable) => (portable.startsWith('openai#') ? 'vendor/openai/client.mjs#OpenAI.makeRequest' : oldStream(portable))),
    );
    const result = await child('replay', join(dirs.compiled, 'dist/support-agent.js'), old, REPLAY_ENV, dirs.compiled);
    expect(result.divergences?.map(({ code, causalKey, message }) => ({ code, causalKey, message }))).toEqual([
      {
        code: 'UNSANCTIONED_NONDETERMINISM',
        causalKey: 'random:openai#OpenAI.makeRequest#0',
        message:
          'the code read random:openai#OpenAI.makeRequest where the tape recorded no such read; the tape has a read of the same function at vendor/openai/client.mjs#OpenAI.makeRequest (random:OpenAI.makeRequest#0): the recorded site differs only by path',
      },
    ]);
  }, 120_000);
});

describe('retrial compiled and installed as a package', () => {
  it('takes its own frames for its own by where its modules were loaded from, not by file names', async () => {
    // call-site.ts compiled into node_modules/retrial/dist/record/, beside a stand-in for the
    // patched globals there and for the replay's reads in dist/replay/.
    const dist = join(temp, 'installed/node_modules/retrial/dist');
    mkdirSync(join(dist, 'record'), { recursive: true });
    mkdirSync(join(dist, 'replay'), { recursive: true });
    writeFileSync(join(temp, 'installed/node_modules/retrial/package.json'), JSON.stringify({ name: 'retrial', type: 'module' }));
    const source = readFileSync(join(ROOT, 'src/record/call-site.ts'), 'utf8');
    const options = { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } };
    writeFileSync(join(dist, 'record/call-site.js'), ts.transpileModule(source, options).outputText);
    writeFileSync(
      join(dist, 'record/patch-globals.js'),
      "import { captureCallSite } from './call-site.js';\nfunction reads() { return captureCallSite(); }\nexport function patchedRandom() { return reads(); }\n",
    );
    writeFileSync(
      join(dist, 'replay/replay-recorder.js'),
      "import { patchedRandom } from '../record/patch-globals.js';\nexport function servedRandom() { return patchedRandom(); }\n",
    );
    const { patchedRandom } = (await import(pathToFileURL(join(dist, 'record/patch-globals.js')).href)) as { patchedRandom: () => string };
    const { servedRandom } = (await import(pathToFileURL(join(dist, 'replay/replay-recorder.js')).href)) as { servedRandom: () => string };
    function handleTicket() {
      return [patchedRandom(), servedRandom()];
    }
    expect(handleTicket()).toEqual(['handleTicket', 'handleTicket']);
  });
});

describe('portable site names', () => {
  it.each([
    ['src/demo/support-agent.ts#handleTicket', 'handleTicket'],
    ['dist/agent.js#TicketHandler.handle', 'TicketHandler.handle'],
    ['node_modules/openai/client.mjs#OpenAI.makeRequest', 'openai#OpenAI.makeRequest'],
    ['/srv/other/node_modules/openai/client.js#OpenAI.makeRequest', 'openai#OpenAI.makeRequest'],
    ['node_modules/.pnpm/openai@6.49.0/node_modules/openai/internal/utils.mjs#uuid4', 'openai#uuid4'],
    ['node_modules/@anthropic-ai/sdk/client.mjs#Anthropic.makeRequest', '@anthropic-ai/sdk#Anthropic.makeRequest'],
    ['.yarn/cache/openai-npm-6.49.0-3f2a9c.zip/node_modules/openai/client.mjs#OpenAI.makeRequest', 'openai#OpenAI.makeRequest'],
    ['C:\\app\\node_modules\\@acme\\jitter\\index.cjs#jitter', '@acme/jitter#jitter'],
    ['src/agent.ts:42', 'src/agent.ts:42'],
    ['unknown-site', 'unknown-site'],
    ['openai#OpenAI.makeRequest', 'openai#OpenAI.makeRequest'],
  ])('%s → %s', (recorded, portable) => {
    expect(portableSiteName(recorded)).toBe(portable);
  });

  it('old keys that become one are renumbered in recorded order; HTTP calls by where they started', () => {
    const base = { at: 0, durationMs: 0 };
    const random = (seq: number, stream: string, ordinal: number) =>
      ({ ...base, seq, kind: 'random', source: 'Math.random', stream, key: `random:${stream}#${ordinal}`, value: seq }) as TapeEvent;
    const get = (seq: number, host: string, ordinal: number, startedAfter: number) =>
      ({
        ...base,
        seq,
        kind: 'tool',
        name: `http GET ${host}`,
        effect: 'read',
        args: 'a',
        requestHash: 'a',
        result: null,
        key: `http:GET ${host}#${ordinal}`,
        startedAfter,
      }) as TapeEvent;
    const events = [
      random(0, 'src/a.ts#handle', 0),
      random(1, 'dist/b.js#handle', 0),
      // rec.random('handle') named its stream as a site is named now.
      { ...random(2, 'handle', 0), source: 'rec.random' } as TapeEvent,
      random(3, 'src/a.ts#handle', 1),
      // Started in the order b, a (both after seq 2), finished a, b.
      get(4, 'a.internal:80', 0, 2),
      get(5, 'b.internal:81', 0, 1),
    ];
    const keyed = [...keyedEvents(events, [1, 2, 3])].map(([key, event]) => [key, event.seq]);
    expect(keyed).toEqual([
      ['random:handle#0', 0],
      ['random:handle#1', 1],
      ['random:handle#2', 2],
      ['random:handle#3', 3],
      ['http:GET#0', 5],
      ['http:GET#1', 4],
    ]);
    expect([...keyedEvents(events, [1, 2, 3, 4]).keys()]).toEqual(events.map((event) => event.key));
  });
});
