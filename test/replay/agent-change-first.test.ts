import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatorServer, startSimulatorServer } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';

const SALT = 'agent-change-salt';
type Variant = 'original' | 'last-call-dropped';

/**
 * Two model calls through the openai client, one through the Anthropic client, each followed by
 * the bookkeeping an agent's libraries do (a timestamp, a request id). Dropping the last call also
 * drops the reads after it; the call is what changed.
 */
function twoCallAgent(variant: Variant) {
  return defineAgent<{ question: string }, string[]>({
    name: 'two-call-agent',
    codeVersion: variant,
    create({ rec, env }) {
      const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${env.BASE_URL}/v1`, fetch: rec.fetch, maxRetries: 0 });
      const anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: env.BASE_URL, fetch: rec.fetch, maxRetries: 0 });
      const bookkeeping = () => `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      return async function answerQuestion({ question }) {
        const answers: string[] = [];
        const first = await openai.chat.completions.create({ model: 'support-sim', messages: [{ role: 'user', content: question }] });
        answers.push(first.choices[0]?.message.content ?? '', bookkeeping());
        const second = await anthropic.messages.create({
          model: 'support-sim',
          max_tokens: 100,
          messages: [{ role: 'user', content: question }],
        });
        answers.push(second.content[0]?.type === 'text' ? second.content[0].text : '', bookkeeping());
        if (variant !== 'last-call-dropped') {
          const last = await openai.chat.completions.create({ model: 'support-sim', messages: [{ role: 'user', content: `${question} Anything else?` }] });
          answers.push(last.choices[0]?.message.content ?? '', bookkeeping());
        }
        return answers;
      };
    },
  });
}

let simulator: SimulatorServer;
let store: Store;
let modelSeqs: number[] = [];
beforeAll(async () => {
  simulator = await startSimulatorServer({ port: 0, seed: 'agent-change' });
  store = createMemoryStore();
  const rec = createRecorder({ store, agent: 'two-call-agent', redaction: { salt: SALT } });
  await rec.run({ question: 'Why was I billed twice?' }, twoCallAgent('original').create({ rec, env: { BASE_URL: simulator.url } }), {
    runId: 'run_two_calls',
  });
  modelSeqs = (await loadTape(store, 'run_two_calls')).events.filter((event) => event.kind === 'model').map((event) => event.seq);
  // Replays run with the simulator gone: nothing may need it.
  await simulator.close();
});
afterAll(async () => simulator.close().catch(() => undefined));

const replay = (variant: Variant, lenient = false) =>
  replayRun({ store, runId: 'run_two_calls', agent: twoCallAgent(variant) as never, redactionSalt: SALT, env: { BASE_URL: 'http://127.0.0.1:9' }, lenient });

describe('divergences point at the agent’s change', () => {
  it('the original reproduces', async () => {
    expect((await replay('original')).divergences).toEqual([]);
  });

  it('an agent that stops making its last model call: the first divergence is that model call, not the clock or random reads that followed it', async () => {
    for (const lenient of [false, true]) {
      const result = await replay('last-call-dropped', lenient);
      const [first] = result.divergences;
      expect(first?.code).toBe('EXTRA_RECORDED');
      expect(first?.seq).toBe(modelSeqs[2]);
      expect(first?.causalKey).toMatch(/^model:/);
      // Both sites where there are two: the replay never made this call, so it has only the recorded one.
      expect(first?.recordedSite).toMatch(/agent-change-first\.test\.ts#answerQuestion/);
      expect(first?.site).toBeNull();
      // The reads are still reported, after the call they followed from.
      if (lenient) expect(result.divergences.slice(1).map((divergence) => divergence.causalKey.split(':')[0])).toContain('clock');
    }
  });
});
