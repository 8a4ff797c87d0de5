import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transform } from 'esbuild';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentDefinition, recordAgent } from '../../src/record/index.ts';
import { createReplayer } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

/**
 * An agent compiled for a target before ES2017 (tsc --init's default is ES2016) runs its async
 * functions as generators driven by helpers the compiler emits (`__awaiter`, `step`,
 * `fulfilled`; esbuild's `__async`). Those helpers are not in the source the tape is replayed
 * from, so they must not name a random read: the usual handler, an anonymous async arrow returned
 * by create(), keys its draws the same compiled down or not.
 */
const AGENT_SOURCE = `
export default {
  name: 'downlevel-agent',
  codeVersion: '1',
  create: ({ rec }) => async (input) => {
    const id = crypto.randomUUID();
    const first = await rec.tool('lookup', async (customer) => ({ customer, plan: 'pro' }), { effect: 'read' })(input.customer);
    const pick = Math.random();
    await Promise.resolve();
    return { id, plan: first.plan, pick: pick < 1, at: Date.now() > 0 };
  },
};
`;

type Agent = AgentDefinition<{ customer: string }, unknown, unknown>;

let dir: string;
const agents: Record<string, Agent> = {};

async function load(name: string, code: string): Promise<Agent> {
  const file = join(dir, `${name}.mjs`);
  await writeFile(file, code);
  return ((await import(pathToFileURL(file).href)) as { default: Agent }).default;
}

function tsc(target: ts.ScriptTarget): string {
  return ts.transpileModule(AGENT_SOURCE, { compilerOptions: { target, module: ts.ModuleKind.ESNext } }).outputText;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retrial-downlevel-'));
  agents.source = await load('source', tsc(ts.ScriptTarget.ES2022));
  agents['tsc ES2016'] = await load('tsc-es2016', tsc(ts.ScriptTarget.ES2016));
  agents['esbuild es2016'] = await load('esbuild-es2016', (await transform(AGENT_SOURCE, { target: 'es2016', format: 'esm', loader: 'js' })).code);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function recordOne(agent: Agent) {
  const store = createMemoryStore();
  const recording = await recordAgent(agent, { store, redactionSalt: 'salt' });
  const { runId } = await recording.handle({ customer: 'C-1' });
  await recording.flush();
  const tape = await store.getTape(runId);
  const randomKeys = tape.eventTexts
    .map((text) => JSON.parse(text) as { kind: string; key: string })
    .filter((event) => event.kind === 'random')
    .map((event) => event.key);
  return { store, runId, randomKeys };
}

describe('an agent compiled with async functions turned into generators', () => {
  for (const compiled of ['tsc ES2016', 'esbuild es2016']) {
    it(`(${compiled}) keys its anonymous handler's draws as its source does, and replays from the source`, async () => {
      const fromSource = await recordOne(agents.source as Agent);
      expect(fromSource.randomKeys).toEqual(['random:<anonymous>#0', 'random:<anonymous>#1']);
      const recorded = await recordOne(agents[compiled] as Agent);
      expect(recorded.randomKeys).toEqual(fromSource.randomKeys);

      const result = await createReplayer({ store: recorded.store, agent: agents.source as never, redactionSalt: 'salt' }).replay(recorded.runId);
      expect(result.divergences).toEqual([]);
      expect(result.ok).toBe(true);
    });
  }
});
