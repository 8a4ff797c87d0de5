import { describe, expect, it } from 'vitest';
import { convertToCanonicalRequest } from './convert-to-canonical-request.ts';

const URL_JSON = 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent';
const URL_STREAM = 'http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=AIzaSecret';

const followUp = {
  contents: [
    { role: 'user', parts: [{ text: 'Weather in Paris and Tokyo?' }] },
    {
      role: 'model',
      parts: [
        { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnbmF0dXJl' },
        { functionCall: { name: 'get_weather', args: { city: 'Tokyo' } } },
      ],
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { celsius: 18 } } },
        { functionResponse: { name: 'get_weather', response: { celsius: 24 } } },
      ],
    },
  ],
  systemInstruction: { role: 'user', parts: [{ text: 'Be brief.' }] },
  tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather now', parametersJsonSchema: { type: 'object' } }] }, { googleSearch: {} }],
  toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
  generationConfig: { temperature: 0.2, maxOutputTokens: 256, responseMimeType: 'application/json', responseJsonSchema: { type: 'object' } },
};

describe('gemini convertToCanonicalRequest', () => {
  it('reads the model and streaming from the URL path, and converts roles, parts, tools and config', () => {
    const draft = convertToCanonicalRequest(followUp, URL_STREAM);
    expect(draft.model).toBe('gemini-2.5-flash');
    expect(draft.stream).toBe(true);
    expect(draft.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Tokyo?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool-call', toolCallId: '', toolName: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool-call', toolCallId: '', toolName: 'get_weather', input: { city: 'Tokyo' } },
        ],
      },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: '', toolName: 'get_weather', output: { celsius: 18 } },
          { type: 'tool-result', toolCallId: '', toolName: 'get_weather', output: { celsius: 24 } },
        ],
      },
    ]);
    expect(draft.tools).toEqual([
      { name: 'get_weather', description: 'Weather now', inputSchema: { type: 'object' } },
      { name: 'googleSearch', inputSchema: null, type: 'googleSearch', raw: {} },
    ]);
    expect(draft.toolChoice).toEqual({ type: 'tool', toolName: 'get_weather' });
    expect(draft.responseFormat).toEqual({ responseMimeType: 'application/json', responseJsonSchema: { type: 'object' } });
    expect(draft.sampling.temperature).toEqual({ value: 0.2, source: 'sent' });
    expect(draft.sampling.maxOutputTokens).toEqual({ value: 256, source: 'sent' });
    expect(draft.sampling.candidateCount).toEqual({ value: 1, source: 'default' });
    expect(draft.sampling).not.toHaveProperty('responseMimeType');
  });

  it('takes a non-streamed call from generateContent, a string system instruction, and no tools as none', () => {
    const draft = convertToCanonicalRequest(
      { contents: [{ parts: [{ text: 'hi' }] }], systemInstruction: 'sys', generationConfig: { responseMimeType: 'text/plain' } },
      URL_JSON,
    );
    expect(draft.stream).toBe(false);
    expect(draft.messages[0]).toEqual({ role: 'system', content: [{ type: 'text', text: 'sys' }] });
    expect(draft.messages[1]?.role).toBe('user');
    expect(draft.tools).toBeNull();
    expect(draft.toolChoice).toBe('none');
    expect(draft.responseFormat).toBeNull();
  });

  it('gives the same canonical request whether a default is spelled out or left out', () => {
    const left = convertToCanonicalRequest({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, URL_JSON);
    const spelled = convertToCanonicalRequest({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { temperature: 1 } }, URL_JSON);
    const values = (draft: typeof left) => Object.fromEntries(Object.entries(draft.sampling).map(([name, sampled]) => [name, sampled.value]));
    expect(values(spelled)).toEqual(values(left));
  });

  it('throws a TypeError naming the format on a body that is not a Gemini request', () => {
    expect(() => convertToCanonicalRequest({ model: 'gpt-4.1', messages: [] }, URL_JSON)).toThrow(/Gemini generateContent request body/);
  });
});
