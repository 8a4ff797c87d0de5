import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InstalledProject, packAndInstall, removeTemporaryFiles } from './pack.ts';

/**
 * The package as a user gets it: `npm pack`, then the tarball installed into a new project, used
 * from plain JavaScript under `node` (no loader) and type-checked from TypeScript projects with
 * strict settings and skipLibCheck off. Installed with --omit=optional, as a service that only
 * records may: without openai and tsx, the root import, the CLI's help and the store still work.
 * Slow (pack builds dist/, npm installs): one install is shared by every check in this file.
 */

const PACK_AND_INSTALL_TIMEOUT = 300_000;
const CHECK_TIMEOUT = 180_000;

/** The agent, as a service would ship it: a module whose default export is defineAgent(...). */
const AGENT_MODULE = `
import { defineAgent } from 'retrial';

export default defineAgent({
  name: 'pack-test-agent',
  codeVersion: '1',
  create: ({ rec }) => {
    const lookup = rec.tool('lookup_account', async (id) => ({ id, plan: 'pro' }), { effect: 'read' });
    return async function handleTicket(input) {
      const account = await lookup(input.customer);
      const draw = Math.random();
      rec.decide({ type: 'account.action', subject: account.id, value: 'keep', reversible: true });
      return { plan: account.plan, drew: draw >= 0 && draw < 1, at: new Date().getFullYear() > 2000 };
    };
  },
});
`;

const RECORD_SCRIPT = `
import { createRecorder, openStore } from 'retrial';
import agent from './agent.mjs';

const store = await openStore(process.argv[2]);
const rec = createRecorder({ store, agent: agent.name, codeVersion: agent.codeVersion, redaction: { salt: 'pack-test-salt', rules: [] } });
const handle = agent.create({ rec, env: process.env });
const output = await rec.run({ ticket: 't-1', customer: 'c-9' }, handle, { externalIds: { ticket: 't-1' } });
const runs = await store.listRuns({});
console.log(JSON.stringify({ output, runs: runs.map((run) => ({ runId: run.runId, agent: run.agent, status: run.status })) }));
await store.close();
const backfill = await import('retrial/backfill');
if (typeof backfill.planCampaign !== 'function') throw new Error('retrial/backfill has no planCampaign');
`;

/** Uses the recording API and its types the way a service written in TypeScript would. */
const RECORD_TS = `
import { createRecorder, type Correction, openStore, type Recorder, type RunSummary, type Store } from 'retrial';
import { planCampaign } from 'retrial/backfill';

export type Plan = typeof planCampaign;
export function describeCorrection(correction: Correction): string {
  return correction.idempotencyKey;
}

interface Ticket {
  id: string;
  customer: string;
}

export async function recordOne(path: string, ticket: Ticket): Promise<RunSummary[]> {
  const store: Store = await openStore(path);
  const rec: Recorder = createRecorder({ store, agent: 'typed-agent', redaction: { salt: 'salt', rules: [{ name: 'email', pattern: /\\S+@\\S+/g }] } });
  const lookup = rec.tool('lookup', async (id: string) => ({ id, plan: 'pro' as const }), { effect: 'read' });
  const plan: 'pro' = await rec.run(ticket, async (input: Ticket) => {
    const account = await lookup(input.customer);
    rec.decide({ type: 'account.action', subject: account.id, value: 'keep' });
    return account.plan;
  });
  void plan;
  const runs = await store.listRuns({ agent: 'typed-agent', limit: 10 });
  await store.close();
  return runs;
}
`;

/** The replay API at the package root (createReplayer, replayRun and their types). */
const REPLAY_TS = `
import { createReplayer, defineAgent, openStore, replayRun, type ReplayResult } from 'retrial';

const agent = defineAgent({
  name: 'typed-agent',
  codeVersion: '1',
  create: ({ rec }) => async (input: { id: string }) => {
    rec.decide({ type: 'account.action', subject: input.id, value: 'keep' });
    return 'done';
  },
});

export async function replayAll(path: string, runIds: readonly string[]): Promise<boolean> {
  const store = await openStore(path);
  const replayer = createReplayer({ store, agent, redactionSalt: 'salt' });
  const results: ReplayResult[] = [];
  for (const runId of runIds) results.push(await replayer.replay(runId));
  const first = runIds[0] === undefined ? undefined : await replayRun({ store, agent, redactionSalt: 'salt', runId: runIds[0] });
  await store.close();
  return results.every((result) => result.ok) && (first?.divergences.length ?? 0) === 0;
}
`;

const STRICT = { strict: true, skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noEmit: true, types: ['node'] };

const TSCONFIGS = {
  nodenext: { compilerOptions: { ...STRICT, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext' } },
  bundler: { compilerOptions: { ...STRICT, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler' } },
};

describe('the packed package, installed', () => {
  let project: InstalledProject;

  beforeAll(async () => {
    project = await packAndInstall({ omitOptional: true, devDependencies: { typescript: '~5.9', '@types/node': '^20.19.43' } });
  }, PACK_AND_INSTALL_TIMEOUT);
  afterAll(removeTemporaryFiles);

  it('ships compiled JavaScript, declarations, maps and the license, and no tests, benchmarks or fixtures', async () => {
    const { files } = project.packed;
    for (const path of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.d.ts.map',
      'dist/index.js.map',
      'dist/cli/main.js',
      'bin/retrial.js',
      'LICENSE',
      'README.md',
    ])
      expect(files).toContain(path);
    const unwanted = files.filter(
      (path) => /(^|\/)(test|tests|bench|fixtures|__fixtures__|golden)\//.test(path) || /\.test\.[cm]?[jt]s$|\.tape\.jsonl$/.test(path),
    );
    expect(unwanted).toEqual([]);
    const manifest = JSON.parse(await readFile(join(project.dir, 'node_modules/retrial/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.license).toBe('Apache-2.0');
    expect(manifest.private).toBeUndefined();
  });

  it('needs neither the provider SDKs nor tsx to record', () => {
    for (const name of ['openai', '@anthropic-ai/sdk', 'tsx', 'esbuild']) expect(existsSync(join(project.dir, 'node_modules', name)), name).toBe(false);
  });

  it(
    'records a run into SQLite from plain JavaScript under node, which the installed CLI lists and replays, loading tsx only for a .ts agent',
    async () => {
      await project.write('agent.mjs', AGENT_MODULE);
      await project.write('record.mjs', RECORD_SCRIPT);
      const recorded = await project.run('node', ['record.mjs', 'store.db']);
      expect(recorded.stderr).toBe('');
      expect(recorded.status).toBe(0);
      const { output, runs } = JSON.parse(recorded.stdout) as { output: unknown; runs: { runId: string; agent: string; status: string }[] };
      expect(output).toEqual({ plan: 'pro', drew: true, at: true });
      expect(runs.map(({ agent, status }) => ({ agent, status }))).toEqual([{ agent: 'pack-test-agent', status: 'complete' }]);
      const runId = runs[0]?.runId as string;

      const listed = await project.run('npx', ['--no-install', 'retrial', '--db', 'store.db', 'runs', '--json']);
      expect(listed.stderr).toBe('');
      expect(listed.stdout).toContain(runId);

      const env = { RETRIAL_REDACTION_SALT: 'pack-test-salt' };
      const replayed = await project.run('npx', ['--no-install', 'retrial', '--db', 'store.db', 'replay', runId, '--agent', 'agent.mjs'], { env });
      expect(replayed.stderr).toBe('');
      expect(replayed.stdout).toMatch(new RegExp(`^REPRODUCED ${runId}`));
      expect(replayed.status).toBe(0);

      // tsx is an optional dependency, left out here: only a TypeScript agent module needs it.
      await project.write('agent.ts', AGENT_MODULE);
      const typescript = await project.run('npx', ['--no-install', 'retrial', '--db', 'store.db', 'replay', runId, '--agent', 'agent.ts'], { env });
      expect(typescript.stderr).toMatch(
        /TypeScript module \(an agent or remediation handler.* needs the package tsx, which is not installed: run `npm install tsx`/,
      );
      expect(typescript.status).toBe(2);
      // The same holds for a remediation handler written as .mts, as the README shows one: the
      // compiled CLI goes to tsx for it rather than failing on the extension.
      await project.write('handler.mts', 'export default async function handle() {}\n');
      const handler = await project.run('npx', ['--no-install', 'retrial', '--db', 'store.db', 'remediate', 'apply', 'bf_none', '--handler', 'handler.mts']);
      expect(handler.stderr).toMatch(/needs the package tsx, which is not installed: run `npm install tsx`/);
      expect(handler.stderr).not.toMatch(/Unknown file extension/);
    },
    CHECK_TIMEOUT,
  );

  it(
    'runs the CLI from the compiled code: --version, --help, and a clear message for what an omitted optional package is needed for',
    async () => {
      const version = await project.run('npx', ['--no-install', 'retrial', '--version']);
      expect(version.stdout.trim()).toBe(JSON.parse(await readFile(join(project.dir, 'node_modules/retrial/package.json'), 'utf8')).version);
      const help = await project.run('npx', ['--no-install', 'retrial', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^ {2}replay \[options\] \[runs\.\.\.\] /m);
      const demo = await project.run('npx', ['--no-install', 'retrial', 'demo', '--runs', '1', '--db', 'demo.db']);
      expect(demo.stderr).toMatch(/needs the package openai, which is not installed: run `npm install openai`/);
      expect(demo.status).toBe(2);
    },
    CHECK_TIMEOUT,
  );

  for (const [resolution, tsconfig] of Object.entries(TSCONFIGS)) {
    it(
      `type-checks a strict TypeScript consumer (moduleResolution ${resolution}, skipLibCheck false) with zero errors`,
      async () => {
        await project.write(`ts-${resolution}/tsconfig.json`, JSON.stringify({ ...tsconfig, include: ['*.ts'] }, null, 2));
        await project.write(`ts-${resolution}/record.ts`, RECORD_TS);
        await project.write(`ts-${resolution}/replay.ts`, REPLAY_TS);
        const checked = await project.run('npx', ['--no-install', 'tsc', '-p', `ts-${resolution}`]);
        expect(checked.stdout + checked.stderr).toBe('');
        expect(checked.status).toBe(0);
      },
      CHECK_TIMEOUT,
    );
  }
});
