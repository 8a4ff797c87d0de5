import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { incidentRequest } from './__fixtures__/support-conversation.ts';
import { type SimulatorServer, startSimulatorServer } from './simulator-server.ts';

/** Server-level options (faults, stream pacing, labelling), checked with the real `openai` client. */
describe('server options', () => {
  it('injects faults on every Nth request without consuming sampling noise, and the client retries them', async () => {
    const faulty = await startSimulatorServer({ seed: 'faults', faults: { status: 429, everyNth: 2, retryAfterMs: 5 } });
    const clean = await startSimulatorServer({ seed: 'faults' });
    try {
      const ask = (target: SimulatorServer) =>
        new OpenAI({ apiKey: 'k', baseURL: `${target.url}/v1`, maxRetries: 3 }).chat.completions.create(
          incidentRequest('support-sim', 1) as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
        );
      for (let index = 0; index < 3; index++) {
        const [fromFaulty, fromClean] = [await ask(faulty), await ask(clean)];
        expect(fromFaulty.choices).toEqual(fromClean.choices);
      }
      expect(faulty.stats()).toMatchObject({ faults: 2, modelRequests: 5 });
      const noRetry = new OpenAI({ apiKey: 'k', baseURL: `${faulty.url}/v1`, maxRetries: 0 });
      const body = incidentRequest() as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
      await expect(noRetry.chat.completions.create(body)).rejects.toBeInstanceOf(OpenAI.RateLimitError); // the 6th request
      await expect(noRetry.chat.completions.create(body)).resolves.toMatchObject({ object: 'chat.completion' });
    } finally {
      await faulty.close();
      await clean.close();
    }
  });

  it('spaces stream chunks by chunkDelayMs so early chunks arrive early', async () => {
    const slow = await startSimulatorServer({ chunkDelayMs: 15 });
    try {
      const started = performance.now();
      const arrivals: number[] = [];
      const stream = await new OpenAI({ apiKey: 'k', baseURL: `${slow.url}/v1` }).chat.completions.create({
        ...(incidentRequest() as object),
        stream: true,
      } as OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming);
      for await (const _chunk of stream) arrivals.push(performance.now() - started);
      expect(arrivals.length).toBeGreaterThan(3);
      expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(15 * (arrivals.length - 2));
    } finally {
      await slow.close();
    }
  });

  it('labels unknown routes as the simulator', async () => {
    const server = await startSimulatorServer();
    try {
      const response = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(404);
      expect(response.headers.get('x-simulator')).toBe('retrial-sim');
      expect(await response.text()).toMatch(/simulator/);
      const model = await fetch(`${server.url}/v1/models/support-sim`).then((answer) => answer.json());
      expect(model).toMatchObject({ id: 'support-sim', alias_of: 'support-sim-2026-01-15', owned_by: 'retrial-simulator' });
    } finally {
      await server.close();
    }
  });
});
