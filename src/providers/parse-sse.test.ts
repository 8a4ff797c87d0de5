import { describe, expect, it } from 'vitest';
import { parseSse } from './parse-sse.ts';

describe('parseSse', () => {
  it('splits events on blank lines and keeps event names', () => {
    expect(parseSse('event: ping\ndata: {"type":"ping"}\n\ndata: [DONE]\n\n')).toEqual([{ event: 'ping', data: '{"type":"ping"}' }, { data: '[DONE]' }]);
  });

  it('treats \\r\\n and \\r line endings like \\n', () => {
    expect(parseSse('event: a\r\ndata: 1\r\n\r\ndata: 2\r\rdata: 3\n\n')).toEqual([{ event: 'a', data: '1' }, { data: '2' }, { data: '3' }]);
  });

  it('joins multi-line data with \\n and drops only one space after the colon', () => {
    expect(parseSse('data: first\ndata:second\ndata:   indented\n\n')).toEqual([{ data: 'first\nsecond\n  indented' }]);
  });

  it('skips comments, id and retry lines, and events without data', () => {
    expect(parseSse(': keep-alive\n\nid: 7\nretry: 100\nevent: empty\n\n: note\ndata: x\n\n')).toEqual([{ data: 'x' }]);
  });

  it('returns a trailing event that has no blank line after it', () => {
    expect(parseSse('data: one\n\nevent: message_stop\ndata: {"type":"message_stop"}')).toEqual([
      { data: 'one' },
      { event: 'message_stop', data: '{"type":"message_stop"}' },
    ]);
  });

  it('keeps an empty data line as an empty string and ignores a byte-order mark', () => {
    expect(parseSse('\uFEFFdata\n\ndata:\ndata: b\n\n')).toEqual([{ data: '' }, { data: '\nb' }]);
  });

  it('gives nothing for empty text', () => {
    expect(parseSse('')).toEqual([]);
  });
});
