import { describe, expect, it } from 'vitest';
import { parseSseJson } from './parse-sse-json.ts';

describe('parseSseJson', () => {
  it('parses data as JSON, keeps event names and leaves out [DONE]', () => {
    expect(parseSseJson('event: ping\ndata: {"type":"ping"}\n\ndata: [1]\n\ndata: [DONE]\n\n')).toEqual([
      { event: 'ping', json: { type: 'ping' } },
      { json: [1] },
    ]);
  });

  it('drops a last event cut off mid-JSON, but throws on corrupt data earlier in the stream', () => {
    expect(parseSseJson('data: {"a":1}\n\ndata: {"b":')).toEqual([{ json: { a: 1 } }]);
    expect(() => parseSseJson('data: {"b":\n\ndata: {"a":1}\n\n')).toThrow(/event 1/);
  });
});
