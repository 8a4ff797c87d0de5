import http from 'node:http';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { type DivergenceCode, replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';

/**
 * A small agent whose code we change one way at a time, the way code changes between an incident
 * and its investigation. Each change must surface as exactly the divergence it is.
 */
type Variant =
  | 'original'
  | 'prompt-edited'
  | 'tool-argument-changed'
  | 'call-added'
  | 'call-removed'
  | 'calls-swapped'
  | 'tool-renamed'
  | 'clock-read-added'
  | 'unwrapped-fetch'
  | 'unwrapped-http-get'
  | 'unwrapped-socket'
  | 'output-changed'
  | 'decision-changed'
  | 'two-changes'
  | 'request-keys-reordered'
  | 'two-concurrent-changes'
  | 'lookup-before-model'
  | 'config-after-model'
  | 'decision-before-email'
  | 'email-before-lookups';

const SALT = 'divergence-salt';
const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: { name: 'lookup_account', description: 'Look up an account', parameters: { type: 'object', properties: { customer_id: { type: 'string' } } } },
  },
];

function miniAgent(variant: Variant, counters: { writes: number }) {
  return defineAgent<{ customers: [string, string] }, { answer: string; chunks: number }>({
    name: 'mini-agent',
    codeVersion: variant,
    create({ rec, env }) {
      const openai = new OpenAI({ apiKey: 'sk-test', baseURL: env.BASE_URL, fetch: rec.fetch, maxRetries: 0 });
      const lookup = rec.tool(
        'lookup_account',
        async (args: { customer_id: string }) => {
          // The first lookup is slower, so in the recording the calls complete out of issue order.
          await new Promise((resolve) => setTimeout(resolve, args.customer_id.endsWith('1') ? 15 : 1));
          return { customer_id: args.customer_id, balance: 10 };
        },
        { effect: 'read' },
      );
      const lookupCustomer = rec.tool('lookup_customer', async (args: { customer_id: string }) => ({ customer_id: args.customer_id }), { effect: 'read' });
      const sendEmail = rec.tool('send_email', async (_message: { to: string }) => {
        counters.writes++;
        return { sent: true };
      });
      return async function handle({ customers: [first, second] }) {
        // Fetched ahead "to save time": the same calls, in another order.
        const prefetched = variant === 'lookup-before-model' ? lookup({ customer_id: first }) : undefined;
        if (variant !== 'config-after-model') rec.config({ promptVersion: 'p1', flags: { strict: true } });
        const system = variant === 'prompt-edited' || variant === 'two-changes' ? 'You help customers. Be brief.' : 'You help customers.';
        const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
          { role: 'system', content: system },
          { role: 'user', content: `Customer ${first} asks about the bill.` },
        ];
        // The SDK writes the body in the order of these keys: reordered, the bytes differ but not the request.
        const stream = await openai.chat.completions.create(
          variant === 'request-keys-reordered'
            ? { messages, stream: true, tools: TOOLS, temperature: 0, model: 'support-sim' }
            : { model: 'support-sim', temperature: 0, tools: TOOLS, stream: true, messages },
        );
        let chunks = 0;
        for await (const _chunk of stream) chunks++;
        if (variant === 'config-after-model') rec.config({ promptVersion: 'p1', flags: { strict: true } });
        if (variant === 'clock-read-added') Date.now();
        if (variant === 'unwrapped-fetch') await fetch('http://127.0.0.1:9/telemetry').catch(() => undefined);
        // What axios, got and older SDKs do underneath: node:http, and a raw socket.
        if (variant === 'unwrapped-http-get')
          await new Promise((resolve) => {
            try {
              http.get(`${telemetry.url}/telemetry`, (response) => response.resume().on('end', resolve)).on('error', resolve);
            } catch (error) {
              resolve(error);
            }
          });
        if (variant === 'unwrapped-socket')
          await new Promise((resolve) => {
            try {
              connect(telemetry.port, '127.0.0.1', () => resolve(undefined)).on('error', resolve);
            } catch (error) {
              resolve(error);
            }
          });
        if (variant === 'email-before-lookups') await sendEmail({ to: first });
        const firstArgument = variant === 'tool-argument-changed' ? `${first}-X` : first;
        const calls =
          variant === 'calls-swapped'
            ? [lookup({ customer_id: second }), lookup({ customer_id: firstArgument })]
            : variant === 'call-removed'
              ? [lookup({ customer_id: firstArgument })]
              : variant === 'tool-renamed'
                ? [lookupCustomer({ customer_id: firstArgument }), lookup({ customer_id: second })]
                : variant === 'two-concurrent-changes'
                  ? [lookup({ customer_id: `${first}-X` }), lookupCustomer({ customer_id: second })]
                  : [prefetched ?? lookup({ customer_id: firstArgument }), lookup({ customer_id: second })];
        if (variant === 'call-added') calls.push(lookup({ customer_id: 'C-extra' }));
        const accounts = await Promise.all(calls);
        const decision = { type: 'account.action', subject: first, value: variant === 'decision-changed' ? 'close' : 'none', reversible: true };
        if (variant === 'decision-before-email') rec.decide(decision);
        if (variant !== 'email-before-lookups') await sendEmail({ to: first });
        if (variant !== 'decision-before-email') rec.decide(decision);
        const answer = `${accounts.length} accounts checked`;
        return { answer: variant === 'output-changed' || variant === 'two-changes' ? `${answer}!` : answer, chunks };
      };
    },
  });
}

/** A listener standing for the outside world: a replay must never reach it. */
const telemetry = { url: '', port: 0, connections: 0 };
let telemetryServer: http.Server;

let store: Store;
let closeSimulator: () => Promise<void>;
let baseUrl = '';
const recordedWrites = { writes: 0 };

beforeAll(async () => {
  telemetryServer = http.createServer((_request, response) => response.end('ok'));
  telemetryServer.on('connection', () => telemetry.connections++);
  await new Promise<void>((resolve) => telemetryServer.listen(0, '127.0.0.1', resolve));
  telemetry.port = (telemetryServer.address() as { port: number }).port;
  telemetry.url = `http://127.0.0.1:${telemetry.port}`;
  const simulator = await startSimulatorServer({ port: 0, seed: 'divergences' });
  closeSimulator = simulator.close;
  baseUrl = `${simulator.url}/v1`;
  store = createMemoryStore();
  const rec = createRecorder({ store, agent: 'mini-agent', redaction: { salt: SALT } });
  const handle = miniAgent('original', recordedWrites).create({ rec, env: { BASE_URL: baseUrl } });
  await rec.run({ customers: ['C-101', 'C-202'] as [string, string] }, handle, { runId: 'run_original' });
});
afterAll(async () => {
  await closeSimulator();
  await new Promise((resolve) => telemetryServer.close(resolve));
});

async function replayAs(variant: Variant, lenient = false) {
  const counters = { writes: 0 };
  const result = await replayRun({
    store,
    runId: 'run_original',
    agent: miniAgent(variant, counters) as never,
    redactionSalt: SALT,
    lenient,
    env: { BASE_URL: 'http://127.0.0.1:9/v1' },
  });
  return { result, writes: counters.writes };
}

describe('replay divergences, one concrete code change each', () => {
  it('the unchanged code reproduces exactly, the stream is re-streamed chunk for chunk, and the write tool never runs', async () => {
    const { result, writes } = await replayAs('original');
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
    expect(writes).toBe(0);
    expect(recordedWrites.writes).toBe(1);
  });

  it('a request with the same content in other bytes (body keys reordered) is the same call', async () => {
    const { result } = await replayAs('request-keys-reordered');
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it.each<[Variant, DivergenceCode, string, string | null]>([
    ['prompt-edited', 'PAYLOAD_MISMATCH', 'model:openai-chat#0', 'messages[0].content[0].text'],
    ['tool-argument-changed', 'PAYLOAD_MISMATCH', 'tool:lookup_account#0', '[0].customer_id'],
    ['call-added', 'MISSING_CALL', 'tool:lookup_account#2', null],
    ['call-removed', 'EXTRA_RECORDED', 'tool:lookup_account#1', null],
    ['calls-swapped', 'ORDER_MISMATCH', 'tool:lookup_account#0', null],
    ['tool-renamed', 'NAME_MISMATCH', 'tool:lookup_customer#0', 'call'],
    ['clock-read-added', 'UNSANCTIONED_NONDETERMINISM', 'clock:Date.now#', null],
    ['unwrapped-fetch', 'UNSANCTIONED_NONDETERMINISM', 'egress:http://127.0.0.1:9/telemetry', null],
    ['unwrapped-http-get', 'UNSANCTIONED_NONDETERMINISM', 'egress:http://127.0.0.1:', null],
    ['unwrapped-socket', 'UNSANCTIONED_NONDETERMINISM', 'egress:tcp://127.0.0.1:', null],
    ['lookup-before-model', 'ORDER_MISMATCH', 'tool:lookup_account#0', 'order'],
    ['config-after-model', 'ORDER_MISMATCH', 'model:openai-chat#0', 'order'],
    ['decision-before-email', 'ORDER_MISMATCH', 'decision:account.action#0', 'order'],
    ['email-before-lookups', 'ORDER_MISMATCH', 'tool:send_email#0', 'order'],
    ['decision-changed', 'OUTPUT_MISMATCH', 'decision:account.action#0', 'value'],
    ['output-changed', 'OUTPUT_MISMATCH', 'output:output#0', 'output.answer'],
  ])('%s → %s at %s', async (variant, code, key, path) => {
    const { result, writes } = await replayAs(variant);
    expect(result.ok).toBe(false);
    expect(result.divergences).toHaveLength(1);
    const [divergence] = result.divergences;
    expect(divergence?.code).toBe(code);
    expect(divergence?.causalKey.startsWith(key), JSON.stringify(divergence)).toBe(true);
    if (path) expect(divergence?.differences.map((difference) => difference.path)).toContain(path);
    if (code !== 'EXTRA_RECORDED' && code !== 'OUTPUT_MISMATCH' && code !== 'UNSANCTIONED_NONDETERMINISM')
      expect(divergence?.site).toMatch(/divergence-kinds\.test\.ts#handle/);
    expect(writes).toBe(0);
    expect(telemetry.connections).toBe(0);
  });

  it('names both call sites and the step of a payload mismatch', async () => {
    const { result } = await replayAs('tool-argument-changed');
    const [divergence] = result.divergences;
    expect(divergence?.seq).toBeGreaterThan(0);
    expect(divergence?.recordedSite).toMatch(/divergence-kinds\.test\.ts#handle/);
    expect(divergence?.differences[0]).toMatchObject({ path: '[0].customer_id', expected: 'C-101', received: 'C-101-X' });
  });

  it('of two changed calls made at once, the one issued first is the first divergence', async () => {
    const strict = await replayAs('two-concurrent-changes');
    expect(strict.result.divergences.map((divergence) => [divergence.code, divergence.causalKey])).toEqual([['PAYLOAD_MISMATCH', 'tool:lookup_account#0']]);
    expect(strict.result.divergences[0]?.differences[0]).toMatchObject({ path: '[0].customer_id', expected: 'C-101', received: 'C-101-X' });
    const lenient = await replayAs('two-concurrent-changes', true);
    expect(lenient.result.divergences.slice(0, 2).map((divergence) => divergence.code)).toEqual(['PAYLOAD_MISMATCH', 'NAME_MISMATCH']);
  });

  it('--lenient reports every divergence instead of stopping at the first', async () => {
    const { result } = await replayAs('two-changes', true);
    expect(result.divergences.map((divergence) => divergence.code)).toEqual(['PAYLOAD_MISMATCH', 'OUTPUT_MISMATCH']);
  });
});
