import { describe, expect, it } from 'vitest';
import { assembleGeminiStream } from '../../providers/gemini/assemble-gemini-stream.ts';
import { handleGeminiGenerateContent, matchGeminiRoute } from './gemini-handler.ts';
import { createSimulatedModel } from './simulated-model.ts';
import { serializeSseEvent } from './simulator-http-result.ts';

const body = {
  contents: [{ role: 'user', parts: [{ text: 'Customer C-2001 asks why the bill went up.' }] }],
  tools: [{ functionDeclarations: [{ name: 'lookup_account', parametersJsonSchema: { type: 'object' } }] }],
  generationConfig: { temperature: 0 },
};

describe('the simulator speaks Gemini generateContent', () => {
  it('routes only model paths, with the model and the method from the path', () => {
    expect(matchGeminiRoute('/v1beta/models/support-sim:generateContent')).toEqual({ model: 'support-sim', stream: false });
    expect(matchGeminiRoute('/v1beta/models/support-sim:streamGenerateContent')).toEqual({ model: 'support-sim', stream: true });
    expect(matchGeminiRoute('/v1beta/models/support-sim:countTokens')).toBeUndefined();
  });

  it('answers the same turn as JSON and as a stream that assembles to it', () => {
    const json = handleGeminiGenerateContent(createSimulatedModel({ seed: 's' }), body, { model: 'support-sim', stream: false });
    const streamed = handleGeminiGenerateContent(createSimulatedModel({ seed: 's' }), body, { model: 'support-sim', stream: true });
    if (!('json' in json) || !('events' in streamed)) throw new Error('expected a JSON answer and a stream');
    expect(json.json).toMatchObject({
      candidates: [
        { content: { role: 'model', parts: [{ functionCall: { name: 'lookup_account', args: { customer_id: 'C-2001' } } }] }, finishReason: 'STOP' },
      ],
    });
    expect(assembleGeminiStream(streamed.events.map(serializeSseEvent).join(''))).toEqual(json.json);
  });

  it('refuses an unknown model and a bad body with Google error bodies that name the simulator', () => {
    const model = createSimulatedModel({ seed: 's' });
    expect(handleGeminiGenerateContent(model, body, { model: 'no-such-model', stream: false })).toMatchObject({
      status: 404,
      json: { error: { code: 404, status: 'NOT_FOUND', message: expect.stringMatching(/simulator/) } },
    });
    expect(handleGeminiGenerateContent(model, { contents: [] }, { model: 'support-sim', stream: false })).toMatchObject({
      status: 400,
      json: { error: { code: 400, status: 'INVALID_ARGUMENT' } },
    });
  });
});
