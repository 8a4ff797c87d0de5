import { describe, expect, it } from 'vitest';
import { incidentRequest, OPENAI_TOOLS } from './__fixtures__/support-conversation.ts';
import { convertOpenAiChatRequest } from './convert-openai-chat-request.ts';
import { CANDIDATE_VERSION_ID, INCUMBENT_VERSION_ID } from './model-versions.ts';
import { createSimulatedModel } from './simulated-model.ts';
import { SimulatorRequestError } from './simulator-request.ts';

type Completion = {
  model: string;
  system_fingerprint: string;
  choices: Array<{ message: { content: string | null; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> } }>;
};

function chosenAction(completion: Completion): string {
  return completion.choices[0]?.message.tool_calls?.[0]?.function.name ?? 'reply';
}

describe('calibration against the true distribution', () => {
  it('closes the account in the incident request at the true 3.5% (2000 samples, temperature 0)', () => {
    const model = createSimulatedModel({ seed: 'calibration' });
    const truth = model.probabilities(incidentRequest());
    expect(truth.close_account).toBeCloseTo(0.035, 10);
    expect(Object.values(truth).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 12);
    const samples = 2000;
    let closes = 0;
    for (let index = 0; index < samples; index++) if (chosenAction(model.complete(incidentRequest()) as Completion) === 'close_account') closes += 1;
    const rate = closes / samples;
    const standardError = Math.sqrt((truth.close_account * (1 - truth.close_account)) / samples);
    // Within three standard errors (about +-1.2 points) of the truth.
    expect(Math.abs(rate - truth.close_account)).toBeLessThan(3 * standardError);
  });

  it('matches the whole distribution at temperature 1 (chi-square, 3000 samples)', () => {
    const model = createSimulatedModel({ seed: 'warm' });
    const request = incidentRequest('support-sim', 1);
    const truth = model.probabilities(request);
    const counts: Record<string, number> = {};
    for (let index = 0; index < 3000; index++) {
      const action = chosenAction(model.complete(request) as Completion);
      counts[action] = (counts[action] ?? 0) + 1;
    }
    const likely = Object.entries(truth).filter(([, probability]) => probability > 0.01);
    const chiSquare = likely.reduce((sum, [action, probability]) => sum + ((counts[action] ?? 0) - 3000 * probability) ** 2 / (3000 * probability), 0);
    expect(likely.length).toBe(4);
    expect(chiSquare).toBeLessThan(16.27); // 99.9th percentile of chi-square with 3 degrees of freedom
  });
});

describe('noise identity', () => {
  const other = { model: 'support-sim', temperature: 1, tools: OPENAI_TOOLS, messages: [{ role: 'user', content: 'What is my balance? C-7' }] };

  it('replays the same outputs for the same seed and request sequence', () => {
    const run = () => {
      const model = createSimulatedModel({ seed: 'replay', nowSeconds: () => 0 });
      return [incidentRequest(), other, incidentRequest(), incidentRequest('support-sim', 1), other].map((body) => model.complete(body));
    };
    expect(run()).toEqual(run());
  });

  it('gives a repeated request fresh noise, and another seed another sequence', () => {
    const model = createSimulatedModel({ seed: 'fresh', nowSeconds: () => 0 });
    const first = model.complete(incidentRequest()) as Completion;
    const second = model.complete(incidentRequest()) as Completion;
    expect(second.choices[0]?.message.tool_calls?.[0]?.id).not.toBe(first.choices[0]?.message.tool_calls?.[0]?.id);
    const reseeded = createSimulatedModel({ seed: 'other', nowSeconds: () => 0 }).complete(incidentRequest());
    expect(reseeded).not.toEqual(first);
    const warm = new Set(Array.from({ length: 40 }, () => chosenAction(model.complete(incidentRequest('support-sim', 1)) as Completion)));
    expect(warm.size).toBeGreaterThan(1);
  });

  it('does not depend on the order of different requests, or on stream and user fields', () => {
    const forward = createSimulatedModel({ seed: 'order', nowSeconds: () => 0 });
    const backward = createSimulatedModel({ seed: 'order', nowSeconds: () => 0 });
    const incidentFirst = forward.complete(incidentRequest());
    backward.complete(other);
    expect(backward.complete(incidentRequest())).toEqual(incidentFirst);
    const fresh = () => createSimulatedModel({ seed: 'order', nowSeconds: () => 0 });
    const plain = fresh().respond(convertOpenAiChatRequest(incidentRequest()));
    const streamed = fresh().respond(
      convertOpenAiChatRequest({ ...incidentRequest(), stream: true, stream_options: { include_usage: true }, user: 'someone' }),
    );
    expect(streamed.choices).toEqual(plain.choices);
    expect(streamed.idSuffix).toBe(plain.idSuffix);
  });

  it('answers n independent choices from one request', () => {
    const completion = createSimulatedModel({ seed: 'n' }).complete({ ...incidentRequest('support-sim', 1), n: 5 }) as Completion;
    expect(completion.choices).toHaveLength(5);
  });
});

describe('model names', () => {
  it('serves the dated version behind an alias, and follows the alias when it moves', () => {
    const model = createSimulatedModel({ seed: 'alias' });
    const before = model.complete(incidentRequest()) as Completion;
    expect(before.model).toBe(INCUMBENT_VERSION_ID);
    expect(before.system_fingerprint).toBe('fp_sim_20260115');
    model.setAlias('support-sim', CANDIDATE_VERSION_ID);
    const after = model.complete(incidentRequest()) as Completion;
    expect(after.model).toBe(CANDIDATE_VERSION_ID);
    expect(after.system_fingerprint).toBe('fp_sim_20260401');
    expect(model.probabilities(incidentRequest()).close_account).toBeCloseTo(0.003, 10);
  });

  it('refuses an unknown model with a 404 that names the simulator, and a bad alias target with a TypeError', () => {
    const model = createSimulatedModel({ aliases: { stable: CANDIDATE_VERSION_ID } });
    expect((model.complete(incidentRequest('stable')) as Completion).model).toBe(CANDIDATE_VERSION_ID);
    const error = (() => {
      try {
        model.complete(incidentRequest('gpt-4o'));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(SimulatorRequestError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect((error as Error).message).toContain('simulator');
    expect(() => model.complete(incidentRequest('constructor'))).toThrow(SimulatorRequestError);
    expect(() => model.setAlias('support-sim', 'support-sim-2099-01-01')).toThrow(TypeError);
  });
});
