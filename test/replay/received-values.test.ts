import { describe, expect, it } from 'vitest';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

/**
 * Key order is observable to code (Object.keys, JSON.stringify, for...in). The agent below turns
 * what it received into text, as agents do when they put a tool result into the next prompt; a
 * replay that served canonical (sorted) objects would change that text.
 */
const orderSensitiveAgent = defineAgent<{ zeta: string; alpha: string }, string>({
  name: 'order-sensitive',
  codeVersion: 'v1',
  create({ rec }) {
    const lookup = rec.tool('lookup', async () => ({ status: 'open', balance: 12, account: { tier: 'gold', id: 'A-1' } }), { effect: 'read' });
    const search = rec.retrieval('kb', async () => [{ title: 'Refunds', body: 'Within 30 days.', score: 0.9 }]);
    return async (input) => {
      const [account, docs] = await Promise.all([lookup(), search()]);
      return JSON.stringify({ inputKeys: Object.keys(input), account, docs });
    };
  },
});

describe('replay serves what the agent received in the order it received it', () => {
  it('input, tool and retrieval results keep their key order, so text built from them is byte-identical', async () => {
    const store = createMemoryStore();
    const rec = createRecorder({ store, agent: 'order-sensitive', redaction: { salt: 's' } });
    const recorded = await rec.run({ zeta: 'z', alpha: 'a' }, orderSensitiveAgent.create({ rec, env: {} }), { runId: 'run_order' });
    expect(recorded).toBe(
      '{"inputKeys":["zeta","alpha"],"account":{"status":"open","balance":12,"account":{"tier":"gold","id":"A-1"}},"docs":[{"title":"Refunds","body":"Within 30 days.","score":0.9}]}',
    );
    const tape = await loadTape(store, 'run_order');
    const kinds = tape.events.filter((event) => ['input', 'tool', 'retrieval'].includes(event.kind));
    expect(kinds.every((event) => 'valueText' in event || 'resultText' in event)).toBe(true);

    const result = await replayRun({ store, runId: 'run_order', agent: orderSensitiveAgent as never, redactionSalt: 's' });
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
