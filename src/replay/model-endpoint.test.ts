import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { geminiWireFormat, openaiChatWireFormat } from '../providers/index.ts';
import { createModelEndpoint, EndpointError } from './model-endpoint.ts';

const completion = JSON.stringify({
  id: 'c1',
  object: 'chat.completion',
  created: 1,
  model: 'm-2026',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});

/** A fetch that answers from a script, one entry per call, and records when each call came. */
function scripted(answers: Array<() => Response>) {
  const calls: number[] = [];
  const fetch = (async () => {
    calls.push(performance.now());
    const next = answers.shift();
    if (!next) throw new Error('no more scripted answers');
    return next();
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('createModelEndpoint', () => {
  it('sends a Gemini request to the model named in the URL, with the key in x-goog-api-key and never in the URL', async () => {
    const sent: Array<{ url: string; headers: Record<string, string> }> = [];
    const fetch = (async (url: string, init: RequestInit) => {
      sent.push({ url, headers: init.headers as Record<string, string> });
      const body = { candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }], modelVersion: 'gemini-2.5-flash-001' };
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof globalThis.fetch;
    const endpoint = createModelEndpoint({ format: geminiWireFormat, baseUrl: 'https://gemini.test/v1beta/', apiKey: 'AIzaKey', fetch });
    expect(endpoint.url).toBe('https://gemini.test/v1beta/models/{model}:generateContent');
    const answer = await endpoint.send('{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}', 'gemini-2.5-flash');
    expect(answer.model).toEqual({ requested: 'gemini-2.5-flash', served: 'gemini-2.5-flash-001' });
    expect(sent).toEqual([
      { url: 'https://gemini.test/v1beta/models/gemini-2.5-flash:generateContent', headers: expect.objectContaining({ 'x-goog-api-key': 'AIzaKey' }) },
    ]);
  });

  it('retries a 429 after the delay the server asks for (retry-after-ms), then answers', async () => {
    const { fetch, calls } = scripted([
      () => new Response('{"error":{"message":"slow down"}}', { status: 429, headers: { 'retry-after-ms': '120' } }),
      () => new Response(completion, { status: 200, headers: { 'content-type': 'application/json' } }),
    ]);
    const endpoint = createModelEndpoint({ format: openaiChatWireFormat, baseUrl: 'http://model.test/v1', apiKey: 'k', fetch, backoffMs: () => 1 });
    const answer = await endpoint.send('{"model":"m","messages":[]}', 'm');
    expect(answer.model.served).toBe('m-2026');
    expect(calls).toHaveLength(2);
    expect((calls[1] as number) - (calls[0] as number)).toBeGreaterThanOrEqual(110);
  });

  it('backs off on 5xx and gives up after the retries with a retryable EndpointError naming the status', async () => {
    const { fetch, calls } = scripted(Array.from({ length: 3 }, () => () => new Response('overloaded', { status: 503 })));
    const endpoint = createModelEndpoint({ format: openaiChatWireFormat, baseUrl: 'http://model.test/v1', apiKey: 'k', fetch, retries: 2, backoffMs: () => 1 });
    const error = (await endpoint.send('{}', 'm').catch((caught) => caught)) as EndpointError;
    expect(error).toBeInstanceOf(EndpointError);
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(error.message).toContain('HTTP 503');
    expect(calls).toHaveLength(3);
  });

  it('never names credentials carried in the URL (user:password, query keys) in its errors', async () => {
    const { fetch } = scripted([() => new Response('nope', { status: 400 })]);
    const endpoint = createModelEndpoint({ format: openaiChatWireFormat, baseUrl: 'https://user:s3cret@proxy.test/v1?api-key=k3y', apiKey: 'k', fetch });
    const error = (await endpoint.send('{}', 'm').catch((caught) => caught)) as EndpointError;
    expect(error.message).toContain('https://proxy.test/v1');
    expect(error.message).not.toMatch(/s3cret|k3y/);
    expect(endpoint.url).not.toMatch(/s3cret|k3y/);
  });

  it('does not retry a 400: the request itself is refused, for good', async () => {
    const { fetch, calls } = scripted([() => new Response('{"error":{"message":"bad model"}}', { status: 400 })]);
    const endpoint = createModelEndpoint({ format: openaiChatWireFormat, baseUrl: 'http://model.test/v1', apiKey: 'k', fetch });
    const error = (await endpoint.send('{}', 'm').catch((caught) => caught)) as EndpointError;
    expect(error).toMatchObject({ status: 400, retryable: false });
    expect(calls).toHaveLength(1);
  });

  it('says which endpoint is not answering, with the reason the connection failed', async () => {
    // A port that was free a moment ago: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const endpoint = createModelEndpoint({ format: openaiChatWireFormat, baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'k', retries: 0 });
    const error = (await endpoint.send('{}', 'm').catch((caught) => caught)) as EndpointError;
    expect(error.message).toBe(`http://127.0.0.1:${port}/v1/chat/completions is not answering (fetch failed: ECONNREFUSED)`);
    expect(error.retryable).toBe(true);
  });
});
