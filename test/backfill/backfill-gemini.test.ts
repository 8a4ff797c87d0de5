import { GoogleGenAI } from '@google/genai';
import { describe, expect, it } from 'vitest';
import { campaignEndpoints, loadCampaign, planCampaign, runCampaign } from '../../src/backfill/index.ts';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch, startSimulatorServer } from '../../src/demo/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

/** Decisions shipped from Gemini calls are re-decided by a candidate model: the recorded body resent to the candidate's URL. */
describe('backfill over decisions made with Gemini', () => {
  it('re-decides each decision on its recorded Gemini request with the candidate model', async () => {
    const store = createMemoryStore();
    const simulator = await startSimulatorServer({ port: 0, seed: 'gemini-backfill' });
    const started = Date.now();
    try {
      const rec = createRecorder({ store, agent: 'gemini-backfill', redaction: { salt: 's' } });
      const ai = new GoogleGenAI({ apiKey: 'sim', httpOptions: { baseUrl: simulator.url, fetch: rec.fetch } });
      for (const customer of ['C-2001', 'C-2002', 'C-2003']) {
        await rec.run(customer, async () => {
          const answer = await ai.models.generateContent({
            model: 'support-sim',
            contents: `Customer ${customer} asks why the bill went up.`,
            config: { tools: [{ functionDeclarations: [{ name: 'lookup_account', parametersJsonSchema: { type: 'object' } }] }] },
          });
          rec.decide({ type: 'support.next', subject: customer, value: answer.functionCalls?.[0]?.name ?? 'reply' });
        });
      }
    } finally {
      await simulator.close();
    }
    const planned = await planCampaign({
      store,
      decisionType: 'support.next',
      since: started - 1,
      until: Date.now() + 1,
      candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
      actor: 't',
      now: Date.now(),
    });
    expect(planned.plan.selected).toBe(3);
    const requests: string[] = [];
    const inProcess = createSimulatorFetch(createSimulatedModel({ seed: 'gemini-backfill-candidate' }));
    const fetch: typeof globalThis.fetch = async (input, init) => {
      requests.push(`${String(input)} ${String(init?.body)}`);
      return inProcess(input, init);
    };
    const summary = await runCampaign({
      store,
      campaignId: planned.campaignId,
      endpointFor: campaignEndpoints(planned.plan, { simulator: { baseUrl: 'http://sim.test/v1', fetch } }),
      actor: 't',
    });
    expect(summary).toMatchObject({ pending: 0 });
    const campaign = await loadCampaign(store, planned.campaignId);
    const candidateResults = campaign.results.filter((result) => result.arm === 'candidate');
    expect(candidateResults).toHaveLength(3);
    for (const result of candidateResults) expect(result.result).not.toHaveProperty('error');
    const toCandidate = requests.filter((request) => request.includes(`/v1beta/models/${CANDIDATE_VERSION_ID}:generateContent`));
    expect(toCandidate.length).toBeGreaterThanOrEqual(3);
    // The body is resent as recorded: a Gemini body has no model member to swap.
    for (const request of toCandidate) expect(request).not.toContain('"model"');
  }, 60_000);
});
