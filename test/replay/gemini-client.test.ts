import { ApiError, GoogleGenAI } from '@google/genai';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderStep } from '../../src/cli/commands/show-command.ts';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { describeStep, loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { forkRun, replayRun, resampleStep } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';
import type { ModelEvent, StreamChunk } from '../../src/tape/index.ts';

/**
 * The real `@google/genai` client, pointed at the simulator over loopback with `httpOptions`,
 * records Gemini calls as model steps and replays them with the simulator stopped.
 */

const SALT = 'gemini-client-salt';
const API_KEY = 'AIzaSyTHIS-KEY-MUST-NEVER-BE-STORED-0123';
const QUESTION = 'Customer C-2001 asks why the bill went up.';

interface Env {
  GEMINI_BASE_URL?: string;
  /** 'stream' streams the second call; 'edit' changes the prompt; 'other-model' asks another model. */
  MODE?: string;
  /** Sent as the SDK's version headers, as an upgraded client would. */
  CLIENT_VERSION?: string;
}

/** Two turns: a function call answered by a tool result, then the final text, streamed or not. */
const geminiAgent = (chunksSeen: string[] = []) =>
  defineAgent<string, { first: unknown; answer: string }>({
    name: 'gemini-agent',
    codeVersion: '1',
    create({ rec, env }) {
      const { GEMINI_BASE_URL, MODE, CLIENT_VERSION } = env as Env;
      const headers = CLIENT_VERSION
        ? { 'x-goog-api-client': `google-genai-sdk/${CLIENT_VERSION} gl-node/v99.0.0`, 'user-agent': `google-genai-sdk/${CLIENT_VERSION}` }
        : undefined;
      const ai = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: GEMINI_BASE_URL, fetch: rec.fetch, ...(headers ? { headers } : {}) } });
      const config = {
        systemInstruction: 'You are a billing support agent.',
        temperature: 0,
        tools: [
          {
            functionDeclarations: [
              {
                name: 'lookup_account',
                description: 'Look up an account',
                parametersJsonSchema: { type: 'object', properties: { customer_id: { type: 'string' } }, required: ['customer_id'] },
              },
            ],
          },
        ],
      };
      return async function handle(question) {
        const prompt = MODE === 'edit' ? `${question} Please hurry.` : question;
        const contents = [{ role: 'user', parts: [{ text: prompt }] }];
        const first = await ai.models.generateContent({ model: MODE === 'other-model' ? 'gemini-2.5-flash' : 'support-sim', contents, config });
        const call = first.functionCalls?.[0];
        const followUp = [
          ...contents,
          { role: 'model', parts: first.candidates?.[0]?.content?.parts ?? [] },
          { role: 'user', parts: [{ functionResponse: { name: call?.name ?? 'lookup_account', response: { plan: 'pro', balance: 42 } } }] },
        ];
        let answer = '';
        if (MODE === 'stream') {
          for await (const chunk of await ai.models.generateContentStream({ model: 'support-sim', contents: followUp, config })) {
            chunksSeen.push(chunk.text ?? '');
            answer += chunk.text ?? '';
          }
        } else {
          answer = (await ai.models.generateContent({ model: 'support-sim', contents: followUp, config })).text ?? '';
        }
        return { first: call ?? null, answer };
      };
    },
  });

let store: Store;
let simulatorUrl = '';
const recordedChunks: string[] = [];

async function record(runId: string, mode: string | undefined, baseUrl: string, chunks?: string[]) {
  const rec = createRecorder({ store, agent: 'gemini-agent', redaction: { salt: SALT } });
  const handle = geminiAgent(chunks).create({ rec, env: { GEMINI_BASE_URL: baseUrl, ...(mode ? { MODE: mode } : {}) } });
  return rec.run(QUESTION, handle, { runId });
}

function replay(runId: string, env: Env, chunks?: string[]) {
  return replayRun({ store, runId, agent: geminiAgent(chunks) as never, redactionSalt: SALT, env: env as Record<string, string> });
}

const modelEvents = async (runId: string) => (await loadTape(store, runId)).events.filter((event): event is ModelEvent => event.kind === 'model');

beforeAll(async () => {
  store = createMemoryStore();
  const simulator = await startSimulatorServer({ port: 0, seed: 'gemini-client', chunkDelayMs: 10 });
  simulatorUrl = simulator.url;
  try {
    await record('run_json', undefined, simulator.url);
    await record('run_stream', 'stream', simulator.url, recordedChunks);
  } finally {
    await simulator.close();
  }
}, 60_000);

describe('the real @google/genai client, recorded against the simulator', () => {
  it('records both calls as Gemini model steps: model from the URL path, a function call, then text', async () => {
    const events = await modelEvents('run_json');
    expect(events.map((event) => [event.key, event.provider, event.request.model, event.request.stream])).toEqual([
      ['model:gemini#0', 'gemini', 'support-sim', false],
      ['model:gemini#1', 'gemini', 'support-sim', false],
    ]);
    expect(events[0]?.response?.content).toEqual([{ type: 'tool-call', toolCallId: '', toolName: 'lookup_account', input: { customer_id: 'C-2001' } }]);
    expect(events[0]?.response?.finishReason).toEqual({ unified: 'tool-calls', raw: 'STOP' });
    expect(events[1]?.response?.content[0]?.type).toBe('text');
  });

  it('stores no API key, neither from the header nor from a ?key= query', async () => {
    const rec = createRecorder({ store, agent: 'gemini-agent', redaction: { salt: SALT } });
    const simulator = await startSimulatorServer({ port: 0, seed: 'gemini-client-key' });
    try {
      await rec.run(
        'key in the query',
        async () => {
          const response = await rec.fetch(`${simulator.url}/v1beta/models/support-sim:generateContent?key=${API_KEY}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] }),
          });
          return response.json();
        },
        { runId: 'run_query_key' },
      );
    } finally {
      await simulator.close();
    }
    for (const runId of ['run_json', 'run_stream', 'run_query_key']) {
      const tape = await loadTape(store, runId);
      const [event] = tape.events.filter((candidate): candidate is ModelEvent => candidate.kind === 'model');
      expect(event?.provider).toBe('gemini');
      const stored = JSON.stringify([
        tape.events,
        ...tape.events.flatMap((candidate) => (candidate.kind === 'model' ? [tape.blob(candidate.wire.requestHeaders)] : [])),
      ]);
      expect(stored).not.toContain(API_KEY);
      expect(stored).toContain('/v1beta/models/support-sim:');
    }
  });

  it('replays with the simulator stopped: reproduced, against another base URL too', async () => {
    for (const baseUrl of [simulatorUrl, 'http://127.0.0.1:9', 'https://generativelanguage.googleapis.com']) {
      const result = await replay('run_json', { GEMINI_BASE_URL: baseUrl });
      expect(result.divergences, baseUrl).toEqual([]);
      expect(result.ok).toBe(true);
    }
  });

  it('replays under other SDK version headers (x-goog-api-client, user-agent): reproduced', async () => {
    const headersSeen: string[] = [];
    const [first] = await modelEvents('run_json');
    const tape = await loadTape(store, 'run_json');
    headersSeen.push(JSON.stringify(tape.blob(first?.wire.requestHeaders ?? '')));
    expect(headersSeen[0]).toContain('x-goog-api-client');
    expect(headersSeen[0]).not.toContain('9.9.9');
    const result = await replay('run_json', { GEMINI_BASE_URL: 'http://127.0.0.1:9', CLIENT_VERSION: '9.9.9' });
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('a changed prompt is a PAYLOAD_MISMATCH at the first Gemini call, with a diff of the text', async () => {
    const result = await replay('run_json', { GEMINI_BASE_URL: simulatorUrl, MODE: 'edit' });
    expect(result.ok).toBe(false);
    const [divergence] = result.divergences;
    expect(divergence?.code).toBe('PAYLOAD_MISMATCH');
    expect(divergence?.causalKey).toBe('model:gemini#0');
    expect(divergence?.differences).toContainEqual(expect.objectContaining({ expected: QUESTION, received: `${QUESTION} Please hurry.` }));
  });

  it('the same body sent to another model (named in the URL only) is a PAYLOAD_MISMATCH on the model', async () => {
    const result = await replay('run_json', { GEMINI_BASE_URL: simulatorUrl, MODE: 'other-model' });
    expect(result.ok).toBe(false);
    expect(result.divergences[0]).toMatchObject({ code: 'PAYLOAD_MISMATCH', causalKey: 'model:gemini#0' });
    expect(result.divergences[0]?.differences).toContainEqual(
      expect.objectContaining({ path: 'model', expected: 'support-sim', received: 'gemini-2.5-flash' }),
    );
  });

  it('a stream replays with its recorded chunks', async () => {
    const [, streamed] = await modelEvents('run_stream');
    expect(streamed?.request.stream).toBe(true);
    expect(streamed?.wire.url).toMatch(/:streamGenerateContent\?alt=sse$/);
    const tape = await loadTape(store, 'run_stream');
    expect(tape.blob<StreamChunk[]>(streamed?.wire.streamChunks ?? '').length).toBeGreaterThan(2);
    expect(recordedChunks.length).toBeGreaterThan(2);
    // The stored answer is the stream assembled: its text pieces joined into one part.
    expect(streamed?.response?.content).toEqual([{ type: 'text', text: recordedChunks.join('') }]);
    const replayedChunks: string[] = [];
    const result = await replay('run_stream', { GEMINI_BASE_URL: 'http://127.0.0.1:9', MODE: 'stream' }, replayedChunks);
    expect(result.divergences).toEqual([]);
    expect(replayedChunks).toEqual(recordedChunks);
  });

  it('show --step renders the Gemini step: model, system instruction, tools, function call', async () => {
    const tape = await loadTape(store, 'run_json');
    const [first] = tape.events.filter((event): event is ModelEvent => event.kind === 'model');
    const text = renderStep(describeStep(tape, first?.seq ?? -1), false);
    expect(text).toContain('requested support-sim');
    expect(text).toContain('(gemini)');
    expect(text).toContain('system\n      You are a billing support agent.');
    expect(text).toContain('lookup_account: Look up an account');
    expect(text).toContain('→ tool call lookup_account');
    expect(text).toContain('temperature=0');
  });

  it('resample sends the recorded Gemini request N times to a live simulator', async () => {
    const simulator = await startSimulatorServer({ port: 0, seed: 'gemini-resample' });
    try {
      const [first] = await modelEvents('run_json');
      const result = await resampleStep({
        store,
        runId: 'run_json',
        step: first?.seq ?? -1,
        n: 6,
        target: null,
        baseUrl: simulator.url,
        apiKey: 'sim',
        save: false,
      });
      expect(result.error).toBeNull();
      expect(result.complete).toBe(true);
      expect(result.distribution.reduce((total, entry) => total + entry.count, 0)).toBe(6);
      expect(result.distribution.map((entry) => entry.class)).toContain('lookup_account');
      expect(simulator.stats().modelRequests).toBe(6);
    } finally {
      await simulator.close();
    }
  });

  it('fork goes live at a Gemini step with another model (in the URL) and temperature (in generationConfig), and the child replays', async () => {
    const simulator = await startSimulatorServer({ port: 0, seed: 'gemini-fork' });
    try {
      const [first] = await modelEvents('run_json');
      const result = await forkRun({
        store,
        runId: 'run_json',
        atSeq: first?.seq ?? -1,
        agent: geminiAgent() as never,
        redactionSalt: SALT,
        overrides: { model: 'support-sim-2026-04-01', temperature: 0.5 },
        reads: 'frozen',
        endpoint: { baseUrl: simulator.url, apiKey: 'sim' },
        env: { GEMINI_BASE_URL: 'http://127.0.0.1:9' },
        childRunId: 'run_fork',
      });
      expect(result.error).toBeNull();
      expect(result.endpointError).toBeNull();
      expect(result.counts.liveModelCalls).toBe(2);
      expect(simulator.stats().modelRequests).toBe(2);
    } finally {
      await simulator.close();
    }
    const tape = await loadTape(store, 'run_fork');
    const forked = tape.events.filter((event): event is ModelEvent => event.kind === 'model');
    expect(forked.map((event) => event.request.model)).toEqual(['support-sim-2026-04-01', 'support-sim-2026-04-01']);
    expect(forked.map((event) => tape.blob<Record<string, { value: unknown }>>(event.request.sampling).temperature?.value)).toEqual([0.5, 0.5]);
    expect(forked[0]?.response?.model.served).toBe('support-sim-2026-04-01');
    const replayed = await replay('run_fork', { GEMINI_BASE_URL: 'http://127.0.0.1:9' });
    expect(replayed.divergences).toEqual([]);
  });

  it('the simulator refuses an unknown model with an error the real client raises as ApiError', async () => {
    const simulator = await startSimulatorServer({ port: 0, seed: 'gemini-errors' });
    try {
      const ai = new GoogleGenAI({ apiKey: 'sim', httpOptions: { baseUrl: simulator.url } });
      const failure = await ai.models.generateContent({ model: 'no-such-model', contents: 'hi' }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ApiError);
      expect((failure as ApiError).status).toBe(404);
      expect((failure as ApiError).message).toMatch(/simulator/);
    } finally {
      await simulator.close();
    }
  });
});
