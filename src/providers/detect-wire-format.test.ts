import { describe, expect, it } from 'vitest';
import { detectWireFormat, detectWireFormatFromText, wireFormats } from './index.ts';

const chatBody = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] };
const geminiBody = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
const anthropicBody = { model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };

describe('detectWireFormat', () => {
  it.each([
    ['https://api.openai.com/v1/chat/completions', chatBody, 'openai-chat'],
    ['http://localhost:8000/v1/chat/completions/', chatBody, 'openai-chat'],
    ['https://example.openai.azure.com/openai/deployments/gpt/chat/completions?api-version=2024-10-21', chatBody, 'openai-chat'],
    ['https://api.anthropic.com/v1/messages', anthropicBody, 'anthropic-messages'],
    ['https://proxy.internal/anthropic/v1/messages?beta=true', anthropicBody, 'anthropic-messages'],
    ['https://gateway.internal/messages', anthropicBody, 'anthropic-messages'],
    ['https://api.anthropic.com/v1/messages/count_tokens', anthropicBody, undefined],
    ['https://api.openai.com/v1/threads/thread_1/messages', { role: 'user', content: 'hi' }, undefined],
    ['https://api.openai.com/v1/chat/completions', undefined, undefined],
    ['https://api.openai.com/v1/responses', { model: 'gpt-5', input: 'hi' }, 'openai-responses'],
    ['http://127.0.0.1:4000/v1/responses/', { model: 'gpt-5', input: [] }, 'openai-responses'],
    ['https://example.openai.azure.com/openai/v1/responses?api-version=preview', { model: 'gpt-5', input: 'hi' }, 'openai-responses'],
    ['https://api.openai.com/v1/responses/resp_1/cancel', { model: 'gpt-5' }, undefined],
    ['https://api.openai.com/v1/responses', { input: 'hi' }, undefined],
    ['https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent', geminiBody, 'gemini'],
    ['http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', geminiBody, 'gemini'],
    ['https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:generateContent', geminiBody, 'gemini'],
    ['https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:countTokens', geminiBody, undefined],
    ['https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:embedContent', { content: { parts: [] } }, undefined],
    ['https://api.openai.com/v1/embeddings', { model: 'x', input: 'hi' }, undefined],
  ])('%s is %s', (url, body, expected) => {
    expect(detectWireFormat(new URL(url), body)?.id).toBe(expected);
  });

  it('gives the same answer from the raw request text', () => {
    const text = JSON.stringify(geminiBody);
    expect(detectWireFormatFromText('http://127.0.0.1:9/v1beta/models/m:streamGenerateContent?alt=sse&key=AIzaX', text)?.id).toBe('gemini');
    expect(detectWireFormatFromText('http://127.0.0.1:9/v1beta/models/m:countTokens', text)).toBeUndefined();
  });

  it('lists every format once', () => {
    expect(wireFormats.map((wireFormat) => wireFormat.id)).toEqual(['openai-chat', 'anthropic-messages', 'openai-responses', 'gemini']);
  });
});
