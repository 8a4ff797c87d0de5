/** One request a provider SDK sent through the fake fetch. */
export interface CapturedRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  /** The body exactly as the SDK serialized it. */
  bodyText: string;
}

/** What the fake server answers: a JSON body, or SSE text chunks sent one read at a time. */
export type FakeAnswer = { json: unknown } | { sseChunks: string[] };

/**
 * A `fetch` to hand to the real OpenAI and Anthropic SDKs in tests: it keeps every request the
 * SDK sends and answers with a fixture, so tests see exactly the bytes real clients produce
 * without a network. SSE chunks are enqueued one by one so the SDK's parser meets real chunk
 * boundaries.
 */
export function createFakeFetch(answer: (request: CapturedRequest) => FakeAnswer) {
  const requests: CapturedRequest[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request: CapturedRequest = {
      url: new URL(input instanceof Request ? input.url : String(input)),
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      bodyText: typeof init?.body === 'string' ? init.body : '',
    };
    requests.push(request);
    const reply = answer(request);
    if ('json' in reply) {
      return new Response(JSON.stringify(reply.json), { headers: { 'content-type': 'application/json' } });
    }
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of reply.sseChunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    });
    return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
  };
  return { fetch, requests };
}
