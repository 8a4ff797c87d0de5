/**
 * The reference floor: the simulator alone. The request bodies an engine pass sends (every
 * selected decision's recorded request with the candidate's model, and the noise-floor decisions'
 * again with the incumbent's) are prepared once, then sent straight to createSimulatorFetch by a
 * pool of 16 and parsed (JSON, or each `data:` line of a stream). No retrial code runs in the
 * timed part: it shows how much of an engine pass is the simulator itself (its scoring model,
 * `Response`, JSON), which a real model endpoint would not cost this process at all.
 */
import { type LoadedCampaign, modelForArm } from '../../src/backfill/index.ts';
import { createSimulatedModel, createSimulatorFetch } from '../../src/demo/simulator/index.ts';
import { readWireRequestTexts } from '../../src/inspect/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ms, nowMs } from '../record/percentiles.ts';
import { SIM_BASE_URL } from './engine-arm.ts';
import type { TimedPass } from './rounds.ts';
import { cpuMsSince, forEachConcurrently } from './worker-pool.ts';

export interface FloorBodies {
  decisions: number;
  bodies: string[];
}

export interface FloorPass extends TimedPass {
  decisions: number;
  requests: number;
  wallMs: number;
  cpuMs: number;
}

/** The bodies of one campaign's item-arms, as the executor would send them. */
export async function prepareFloorBodies(store: Store, campaign: LoadedCampaign): Promise<FloorBodies> {
  const texts = await readWireRequestTexts(
    store,
    campaign.items.map((entry) => entry.item.requestBody),
  );
  const bodies: string[] = [];
  for (const { item, arms } of campaign.items) {
    const text = texts.get(item.requestBody);
    if (text === undefined) throw new Error(`no request text for ${item.decisionId}`);
    for (const arm of arms) bodies.push(JSON.stringify({ ...(JSON.parse(text) as object), model: modelForArm(campaign.plan, arm, item) }));
  }
  return { decisions: campaign.items.length, bodies };
}

export async function simulatorFloorPass(prepared: FloorBodies, seed: string, concurrency = 16): Promise<FloorPass> {
  const fetch = createSimulatorFetch(createSimulatedModel({ seed }));
  const url = `${SIM_BASE_URL}/chat/completions`;
  const headers = { 'content-type': 'application/json', authorization: 'Bearer sim' };
  const failures: string[] = [];
  let parsed = 0;
  const cpu = process.cpuUsage();
  const started = nowMs();
  await forEachConcurrently(prepared.bodies, concurrency, async (body, index) => {
    const response = await fetch(url, { method: 'POST', headers, body });
    const text = await response.text();
    if (!response.ok) {
      failures.push(`body ${index}: HTTP ${response.status}`);
      return;
    }
    if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      for (const line of text.split('\n')) if (line.startsWith('data: ') && line !== 'data: [DONE]') JSON.parse(line.slice(6));
    } else JSON.parse(text);
    parsed++;
  });
  const wallMs = nowMs() - started;
  const cpuMs = cpuMsSince(cpu);
  const headline = (1000 * prepared.decisions) / wallMs;
  return {
    headline,
    failures,
    decisions: prepared.decisions,
    requests: parsed,
    wallMs,
    cpuMs,
    line: `${parsed} requests for ${prepared.decisions} decisions in ${ms(wallMs)} ms -> ${headline.toFixed(0)} decisions/s, ${((1000 * parsed) / wallMs).toFixed(0)} requests/s; CPU ${ms(cpuMs / prepared.decisions)} ms per decision`,
  };
}
