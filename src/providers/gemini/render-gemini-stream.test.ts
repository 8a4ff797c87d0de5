import { describe, expect, it } from 'vitest';
import { parseSseJson } from '../parse-sse-json.ts';
import { parallelCallsResponse } from './__fixtures__/gemini-responses.ts';
import { assembleGeminiStream } from './assemble-gemini-stream.ts';
import { renderGeminiStream } from './render-gemini-stream.ts';

const longText = {
  candidates: [
    {
      content: {
        role: 'model',
        parts: [
          { text: 'Thinking about the weather in two cities…', thought: true },
          { text: 'Both are mild today 🌤️, in Paris and in Tokyo alike.', thoughtSignature: 'c2ln' },
        ],
      },
      finishReason: 'STOP',
      safetyRatings: [],
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 14, totalTokenCount: 19 },
  modelVersion: 'gemini-2.5-pro',
  responseId: 'r1',
};

describe('renderGeminiStream and assembleGeminiStream', () => {
  it.each([
    ['several function calls', parallelCallsResponse],
    ['long text and a thought', longText],
  ])('round-trip %s', (_name, body) => {
    expect(assembleGeminiStream(renderGeminiStream(body).join(''))).toEqual(body);
  });

  it('splits text into several chunks and puts the finish reason and usage on the last only', () => {
    const chunks = parseSseJson(renderGeminiStream(longText).join('')).map(
      ({ json }) => json as { candidates: Array<{ finishReason?: string }>; usageMetadata?: unknown },
    );
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.slice(0, -1).every((chunk) => chunk.candidates[0]?.finishReason === undefined && chunk.usageMetadata === undefined)).toBe(true);
    expect(chunks.at(-1)?.candidates[0]?.finishReason).toBe('STOP');
    expect(chunks.at(-1)?.usageMetadata).toEqual(longText.usageMetadata);
  });

  it('returns an error payload mid-stream as is, and throws on an empty stream', () => {
    const error = { error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } };
    expect(assembleGeminiStream(`data: ${JSON.stringify(error)}\r\n\r\n`)).toEqual(error);
    expect(() => assembleGeminiStream('')).toThrow(/no chunks/);
  });
});
