import { describe, expect, it } from 'vitest';
import { assembleGeminiStream } from './assemble-gemini-stream.ts';

const sse = (...chunks: unknown[]) => chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`).join('');

describe('assembleGeminiStream', () => {
  it('joins text pieces, keeps whole function calls apart, and takes the last usage and finish reason', () => {
    const text = sse(
      {
        candidates: [{ content: { role: 'model', parts: [{ text: 'Let me ' }] }, index: 0 }],
        usageMetadata: { promptTokenCount: 9 },
        modelVersion: 'gemini-2.5-flash',
        responseId: 'r',
      },
      { candidates: [{ content: { role: 'model', parts: [{ text: 'check.' }] }, index: 0 }], modelVersion: 'gemini-2.5-flash', responseId: 'r' },
      { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'a', args: { x: 1 } } }] }, index: 0 }] },
      {
        candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'b', args: {} } }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 7, totalTokenCount: 16 },
      },
    );
    expect(assembleGeminiStream(text)).toEqual({
      candidates: [
        {
          content: {
            role: 'model',
            parts: [{ text: 'Let me check.' }, { functionCall: { name: 'a', args: { x: 1 } } }, { functionCall: { name: 'b', args: {} } }],
          },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 7, totalTokenCount: 16 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'r',
    });
  });

  it('keeps thought text apart from answer text, and a late signature on the text it ends', () => {
    const text = sse(
      { candidates: [{ content: { parts: [{ text: 'Hmm', thought: true }] } }] },
      { candidates: [{ content: { parts: [{ text: 'Yes' }] } }] },
      { candidates: [{ content: { parts: [{ text: '.', thoughtSignature: 'c2ln' }] }, finishReason: 'STOP' }] },
    );
    expect((assembleGeminiStream(text) as { candidates: Array<{ content: unknown }> }).candidates[0]?.content).toEqual({
      parts: [
        { text: 'Hmm', thought: true },
        { text: 'Yes.', thoughtSignature: 'c2ln' },
      ],
    });
  });
});
