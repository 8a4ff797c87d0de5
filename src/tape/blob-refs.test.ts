import { describe, expect, it } from 'vitest';
import { blobRefsOfEvent, servedBlobRefsOfEvent } from './blob-refs.ts';
import type { ModelEvent } from './events/model-event.ts';

const ref = (name: string) => name.padEnd(64, '0');

function modelEvent(wire: Partial<ModelEvent['wire']>): ModelEvent {
  return {
    seq: 4,
    kind: 'model',
    key: 'model:openai-chat#0',
    at: 0,
    durationMs: 1,
    provider: 'openai-chat',
    request: {
      model: 'm',
      messages: ref('messages'),
      tools: null,
      toolChoice: null,
      responseFormat: null,
      sampling: ref('sampling'),
      stream: false,
    },
    response: null,
    requestHash: ref('hash'),
    wire: {
      method: 'POST',
      url: 'https://api.example/v1/chat/completions',
      requestHeaders: ref('reqheaders'),
      requestBody: ref('body'),
      status: 200,
      responseHeaders: ref('resheaders'),
      responseBody: ref('response'),
      streamChunks: null,
      ...wire,
    },
  } as ModelEvent;
}

describe('the blobs a strict replay reads', () => {
  it("reads a model call's recorded request body only when the tape has no digest of its bytes", () => {
    expect(servedBlobRefsOfEvent(modelEvent({}))).toEqual([ref('resheaders'), ref('body'), ref('response')]);
    expect(servedBlobRefsOfEvent(modelEvent({ requestBodyHash: ref('sha') }))).toEqual([ref('resheaders'), ref('response')]);
  });

  it('serves a stream from its chunks and leaves the response assembled from them unread', () => {
    const streamed = modelEvent({ requestBodyHash: ref('sha'), streamChunks: ref('chunks') });
    expect(servedBlobRefsOfEvent(streamed)).toEqual([ref('resheaders'), ref('chunks')]);
    // Everything else about the call is still reachable for show, export and verify.
    expect(blobRefsOfEvent(streamed)).toEqual(expect.arrayContaining([ref('body'), ref('response'), ref('chunks'), ref('messages')]));
  });
});
