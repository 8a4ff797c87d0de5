import { GoogleGenAI } from '@google/genai';
import { describe, expect, it } from 'vitest';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { explainRun } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

const agent = defineAgent<string, string>({
  name: 'gemini-explain',
  codeVersion: '1',
  create({ rec, env }) {
    const ai = new GoogleGenAI({ apiKey: 'sim', httpOptions: { baseUrl: env.GEMINI_BASE_URL, fetch: rec.fetch } });
    return async (customer) => {
      const answer = await ai.models.generateContent({
        model: 'support-sim',
        contents: `Customer ${customer} asks why the bill went up.`,
        config: { tools: [{ functionDeclarations: [{ name: 'lookup_account', parametersJsonSchema: { type: 'object' } }] }] },
      });
      const next = answer.functionCalls?.[0]?.name ?? 'reply';
      rec.decide({ type: 'support.next', subject: customer, value: next });
      return next;
    };
  },
});

describe('explain on a run whose decision came from a Gemini call', () => {
  it('resamples the Gemini decision step under each configuration', async () => {
    const store = createMemoryStore();
    const simulator = await startSimulatorServer({ port: 0, seed: 'gemini-explain' });
    try {
      const rec = createRecorder({ store, agent: 'gemini-explain', redaction: { salt: 'explain' } });
      await rec.run('C-2001', agent.create({ rec, env: { GEMINI_BASE_URL: simulator.url } }), { runId: 'run_gemini' });
      const result = await explainRun({
        store,
        runId: 'run_gemini',
        agent: agent as never,
        redactionSalt: 'explain',
        endpoint: { baseUrl: simulator.url, apiKey: 'sim' },
        env: { GEMINI_BASE_URL: 'http://127.0.0.1:9' },
        repetitions: 4,
        save: false,
      });
      expect(result.recordedAnswer).toBe('lookup_account');
      expect(result.counterfactuals.length).toBeGreaterThan(0);
      for (const counterfactual of result.counterfactuals) expect(counterfactual.estimate.trials).toBe(4);
    } finally {
      await simulator.close();
    }
  }, 60_000);
});
