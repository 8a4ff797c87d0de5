import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandResult, type InstalledProject, packAndInstall, removeTemporaryFiles, runCommand } from './pack.ts';

/**
 * Issue 14, "replay anywhere", end to end with the packed package: a support agent written in
 * TypeScript is compiled with tsc and recorded as JavaScript in one directory (A: production,
 * working directory A, hoisted node_modules), then replayed with `retrial replay --agent`
 * pointed at its TypeScript source in another checkout (B, node_modules installed nested, one
 * level above the checkout), from a third working directory (C). Every run must reproduce; so
 * after the file is renamed and moved; and a changed prompt must diverge at the model call.
 * Slow (pack builds dist/, two npm installs): everything is made once in beforeAll.
 */

const SETUP_TIMEOUT = 600_000;
const CHECK_TIMEOUT = 240_000;
const REPOSITORY = resolve(import.meta.dirname, '../..');
const RUNS = 5;

const PROMPT = 'You are the support assistant of Acme. Look the customer up before you act, follow policy, and be brief.';

/**
 * The agent as a team writes it: the real openai client through rec.fetch, a read tool, a
 * decision per action, clock reads and random draws, and the handler an anonymous arrow
 * returned by create().
 */
const agentSource = (prompt: string) => `import OpenAI from 'openai';
import { defineAgent } from 'retrial';

export interface Ticket {
  ticketId: string;
  customerId: string;
  message: string;
}

export interface Outcome {
  reply: string;
  action: string;
  queue: string;
  reference: string;
  sampled: boolean;
  tookMs: number;
  answeredAt: string;
}

const SYSTEM_PROMPT = ${JSON.stringify(prompt)};

const ACCOUNTS: Record<string, object> = {
  'C-1001': { customer_id: 'C-1001', name: 'Ada', plan: 'plus', status: 'past_due', balance_due: 40, days_overdue: 12, tenure_months: 30, grace_eligible: true, grace_used_this_year: false, last_charge: { amount: 40, age_days: 12, duplicate: false }, prior_refunds_90d: 0 },
  'C-1002': { customer_id: 'C-1002', name: 'Grace', plan: 'basic', status: 'active', balance_due: 0, days_overdue: 0, tenure_months: 3, grace_eligible: false, grace_used_this_year: false, last_charge: { amount: 19, age_days: 2, duplicate: true }, prior_refunds_90d: 0 },
  'C-1003': { customer_id: 'C-1003', name: 'Alan', plan: 'business', status: 'active', balance_due: 0, days_overdue: 0, tenure_months: 48, grace_eligible: true, grace_used_this_year: true, last_charge: { amount: 300, age_days: 40, duplicate: false }, prior_refunds_90d: 2 },
};

const TOOLS: OpenAI.Chat.ChatCompletionTool[] = [
  tool('lookup_account', 'Look up a customer account by id.', { customer_id: { type: 'string' } }),
  tool('set_grace_period', 'Give the customer a grace period on payment.', { customer_id: { type: 'string' }, days: { type: 'integer' } }),
  tool('issue_refund', 'Refund money to the customer.', { customer_id: { type: 'string' }, amount: { type: 'number' } }),
  tool('deny_refund', 'Decline a refund request with a reason.', { customer_id: { type: 'string' }, reason: { type: 'string' } }),
  tool('escalate_to_human', 'Hand the ticket to a person.', { customer_id: { type: 'string' }, summary: { type: 'string' } }),
];

/** A named helper drawing at random: its site is its name, the same compiled or not. */
function greetingFor(name: string): string {
  const greetings = ['Hi', 'Hello', 'Hey'];
  return \`\${greetings[Math.floor(Math.random() * greetings.length)]} \${name}\`;
}

class Escalations {
  readonly #queues = ['tier2-billing', 'tier2-accounts'];
  pickQueue(): string {
    return this.#queues[Math.floor(Math.random() * this.#queues.length)] ?? 'tier2';
  }
}

function tool(name: string, description: string, properties: Record<string, unknown>): OpenAI.Chat.ChatCompletionTool {
  return { type: 'function', function: { name, description, parameters: { type: 'object', properties, required: Object.keys(properties) } } };
}

export default defineAgent<Ticket, Outcome>({
  name: 'anywhere-support',
  codeVersion: '1.0.0',
  piiRules: [{ name: 'email', pattern: /[\\w.+-]+@[\\w-]+\\.[\\w.]+/g }],
  create: ({ rec, env }) => {
    const openai = new OpenAI({ apiKey: env.SUPPORT_MODEL_KEY ?? 'sk-sim', baseURL: env.SUPPORT_MODEL_BASE_URL, fetch: rec.fetch, maxRetries: 0 });
    const escalations = new Escalations();
    const lookupAccount = rec.tool('lookup_account', async (customerId: string) => ACCOUNTS[customerId] ?? { error: 'no such customer' }, { effect: 'read' });
    return async (ticket) => {
      const startedAt = Date.now();
      const reference = crypto.randomUUID();
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: \`Customer \${ticket.customerId} (ticket \${ticket.ticketId}): \${ticket.message}\` },
      ];
      const queue = escalations.pickQueue();
      let action = 'reply';
      let reply = '';
      for (let turn = 0; turn < 4 && reply === ''; turn++) {
        const completion = await openai.chat.completions.create({ model: 'support-sim', messages, tools: TOOLS, temperature: 1 });
        const message = completion.choices[0]?.message;
        if (!message) break;
        messages.push(message);
        const call = message.tool_calls?.[0];
        if (!call || call.type !== 'function') {
          reply = \`\${greetingFor(ticket.customerId)}. \${message.content ?? ''}\`;
          break;
        }
        const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
        let result: unknown = { ok: true };
        if (call.function.name === 'lookup_account') result = await lookupAccount(String(args.customer_id ?? ticket.customerId));
        else {
          action = call.function.name;
          rec.decide({ type: 'account.action', subject: ticket.customerId, value: action, reversible: action !== 'issue_refund' });
        }
        messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) });
      }
      return { reply, action, queue, reference, sampled: Math.random() < 0.5, tookMs: Date.now() - startedAt, answeredAt: new Date().toISOString() };
    };
  },
});
`;

/** Production: plain node, no loader, working directory A, the compiled agent, the model's URL from the environment. */
const RECORD_SCRIPT = `import { openStore, recordAgent } from 'retrial';
import { startSimulatorServer } from 'retrial/simulator';
import agent from './dist/agent.js';

const simulator = await startSimulatorServer();
process.env.SUPPORT_MODEL_BASE_URL = \`\${simulator.url}/v1\`;
const store = await openStore(process.argv[2]);
const recording = await recordAgent(agent, { store });
const tickets = [
  { ticketId: 'T-1', customerId: 'C-1001', message: 'I need a few more days to pay, my paycheck comes next week.' },
  { ticketId: 'T-2', customerId: 'C-1002', message: 'I was charged twice this month, please refund. Write to grace@example.com.' },
  { ticketId: 'T-3', customerId: 'C-1003', message: 'Can I get my money back for last month?' },
  { ticketId: 'T-4', customerId: 'C-1001', message: 'What plan am I on?' },
  { ticketId: 'T-5', customerId: 'C-1002', message: 'Please close my account, reach me at grace@example.com.' },
];
// A named function above the agent, as a service's request handler is: not the agent's code, so
// not in its keys (replay calls the agent from the CLI instead).
async function handleTicket(ticket) {
  return recording.handle(ticket, { externalIds: { ticket: ticket.ticketId } });
}
const runs = [];
for (const ticket of tickets.slice(0, Number(process.argv[3]))) {
  const { output, runId } = await handleTicket(ticket);
  const tape = await store.getTape(runId);
  const events = tape.eventTexts.map((text) => JSON.parse(text));
  runs.push({ runId, output, status: tape.run.status, events: events.map((event) => ({ kind: event.kind, key: event.key })) });
}
await recording.flush();
await store.close();
await simulator.close();
console.log(JSON.stringify(runs));
`;

interface RecordedRun {
  runId: string;
  output: { action: string; reference: string };
  status: string;
  events: { kind: string; key: string }[];
}

interface ReplayReport {
  reproduced: number;
  diverged: number;
  failed: unknown[];
  results: { runId: string; ok: boolean; divergences: { code: string; causalKey: string }[] }[];
}

describe('a tape recorded by the compiled agent in one directory replays from its TypeScript source in another', () => {
  let root: string;
  let production: InstalledProject;
  let laptop: InstalledProject;
  let checkout: string;
  let elsewhere: string;
  let database: string;
  let recorded: RecordedRun[];

  /** `retrial replay --all` from the laptop's install, started in C, on A's store. */
  async function replayAll(agentFile: string): Promise<{ result: CommandResult; report: ReplayReport }> {
    const cli = join(laptop.dir, 'node_modules/.bin/retrial');
    const result = await runCommand(cli, ['replay', '--all', '--agent', agentFile, '--db', database, '--json'], { cwd: elsewhere });
    let report: ReplayReport;
    try {
      report = JSON.parse(result.stdout) as ReplayReport;
    } catch {
      throw new Error(`replay printed no JSON (exit ${result.status}):\n${result.stderr}${result.stdout}`);
    }
    return { result, report };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'retrial-anywhere-'));
    // A: the service's directory; its node_modules hoisted, retrial and openai at the top.
    production = await packAndInstall({ dir: join(root, 'srv/support') });
    await production.write('src/agent.ts', agentSource(PROMPT));
    await production.write(
      'tsconfig.json',
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          rootDir: 'src',
          outDir: 'dist',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(REPOSITORY, 'node_modules/@types')],
        },
        include: ['src'],
      }),
    );
    const compiled = await production.run(join(REPOSITORY, 'node_modules/.bin/tsc'), ['-p', '.']);
    if (compiled.status !== 0) throw new Error(`tsc failed:\n${compiled.stdout}${compiled.stderr}`);
    await production.write('record.mjs', RECORD_SCRIPT);
    database = join(production.dir, '.retrial/retrial.db');
    const recording = await production.run('node', ['record.mjs', database, String(RUNS)]);
    if (recording.status !== 0) throw new Error(`recording failed:\n${recording.stderr}${recording.stdout}`);
    recorded = JSON.parse(recording.stdout) as RecordedRun[];

    // B: a laptop, packages installed nested one level above the checkout; the agent's TypeScript
    // source only, never compiled there. The checkout is its own ESM package.
    laptop = await packAndInstall({ dir: join(root, 'home/dev'), installStrategy: 'nested', dependencies: { openai: '^6.49.0' } });
    checkout = join(laptop.dir, 'checkouts/support');
    await mkdir(join(checkout, 'src'), { recursive: true });
    await writeFile(join(checkout, 'package.json'), `${JSON.stringify({ name: 'support', private: true, type: 'module' }, null, 2)}\n`);
    await cp(join(production.dir, 'src/agent.ts'), join(checkout, 'src/agent.ts'));

    // C: where the person on call happens to be.
    elsewhere = join(root, 'tmp/oncall');
    await mkdir(elsewhere, { recursive: true });
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await removeTemporaryFiles();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('recorded every run completely from plain node: model calls, the read tool, decisions, clock and random reads', () => {
    expect(recorded).toHaveLength(RUNS);
    for (const run of recorded) {
      expect(run.status).toBe('complete');
      const kinds = new Set(run.events.map((event) => event.kind));
      for (const kind of ['model', 'clock', 'random']) expect(kinds, `${run.runId} has ${kind} events`).toContain(kind);
      const randomKeys = run.events.filter((event) => event.kind === 'random').map((event) => event.key);
      // The agent's own draws, named by function and never by file: the arrow's two (a UUID and
      // Math.random), a named helper's and a class method's; and the openai client's own.
      for (const key of ['random:<anonymous>#1', 'random:greetingFor#0', 'random:Escalations.pickQueue#0', 'random:openai#OpenAI.makeRequest#0'])
        expect(randomKeys, run.runId).toContain(key);
      for (const key of run.events.map((event) => event.key)) expect(key).not.toMatch(/agent\.js|\.ts#|\/srv\/|node_modules/);
    }
    const allKinds = new Set(recorded.flatMap((run) => run.events.map((event) => event.kind)));
    expect(allKinds).toContain('tool');
    expect(allKinds).toContain('decision');
    // The layouts do differ: hoisted in A, nested on the laptop (retrial's dependencies inside it).
    expect(existsSync(join(production.dir, 'node_modules/better-sqlite3'))).toBe(true);
    expect(existsSync(join(laptop.dir, 'node_modules/better-sqlite3'))).toBe(false);
    expect(existsSync(join(laptop.dir, 'node_modules/retrial/node_modules/better-sqlite3'))).toBe(true);
  });

  it(
    'reproduces every run with --agent pointed at the TypeScript source in another checkout, from a third working directory',
    async () => {
      const { result, report } = await replayAll(join(checkout, 'src/agent.ts'));
      expect({ reproduced: report.reproduced, diverged: report.diverged, failed: report.failed }, result.stderr).toEqual({
        reproduced: RUNS,
        diverged: 0,
        failed: [],
      });
      expect(report.results.map((run) => run.runId).sort()).toEqual(recorded.map((run) => run.runId).sort());
      expect(result.status).toBe(0);
    },
    CHECK_TIMEOUT,
  );

  it(
    'reproduces every run after the agent file was renamed and moved (lib/support-bot.ts)',
    async () => {
      const moved = join(checkout, 'lib/support-bot.ts');
      await mkdir(dirname(moved), { recursive: true });
      await writeFile(moved, await readFile(join(checkout, 'src/agent.ts'), 'utf8'));
      const { result, report } = await replayAll(moved);
      expect({ reproduced: report.reproduced, diverged: report.diverged, failed: report.failed }, result.stderr).toEqual({
        reproduced: RUNS,
        diverged: 0,
        failed: [],
      });
      expect(result.status).toBe(0);
    },
    CHECK_TIMEOUT,
  );

  it(
    'reproduces every run from a checkout that is CommonJS (no "type": "module"), as many TypeScript services are',
    async () => {
      const commonJs = join(laptop.dir, 'checkouts/support-commonjs');
      await mkdir(join(commonJs, 'src'), { recursive: true });
      await writeFile(join(commonJs, 'package.json'), `${JSON.stringify({ name: 'support', private: true }, null, 2)}\n`);
      await cp(join(checkout, 'src/agent.ts'), join(commonJs, 'src/agent.ts'));
      const { result, report } = await replayAll(join(commonJs, 'src/agent.ts'));
      expect({ reproduced: report.reproduced, diverged: report.diverged, failed: report.failed }, result.stderr).toEqual({
        reproduced: RUNS,
        diverged: 0,
        failed: [],
      });
      expect(result.status).toBe(0);
    },
    CHECK_TIMEOUT,
  );

  it(
    'diverges at the model call when the prompt changed, naming the site (so this file can fail)',
    async () => {
      const edited = join(checkout, 'src/agent-edited.ts');
      await writeFile(edited, agentSource(`${PROMPT} Always offer a discount.`));
      const { result, report } = await replayAll(edited);
      expect(report.reproduced).toBe(0);
      expect(report.diverged).toBe(RUNS);
      for (const run of report.results) {
        expect(run.divergences[0]?.code).toBe('PAYLOAD_MISMATCH');
        expect(run.divergences[0]?.causalKey).toBe('model:openai-chat#0');
      }
      expect(result.status).not.toBe(0);
    },
    CHECK_TIMEOUT,
  );
});
