import { describe, expect, it } from 'vitest';
import { defineAgent, recordAgent } from '../../src/record/index.ts';
import { createReplayer } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

/**
 * The usual shape of an agent module: `create` returns an anonymous arrow. Its random draws are
 * named after the function they run in, and no further up than retrial's own frames: above those
 * is whoever started the run (a service's request handler when recording, the CLI or a test when
 * replaying), which must not be part of a key.
 */
const agent = defineAgent<{ ticket: string }, { pick: number; id: string }>({
  name: 'anonymous-handler-agent',
  codeVersion: '1',
  create:
    ({ rec }) =>
    async (input) => {
      rec.config({ promptVersion: 'p1' });
      const pick = Math.floor(Math.random() * 1000);
      await Promise.resolve();
      return { pick, id: `${input.ticket}-${crypto.randomUUID()}` };
    },
});

describe('an agent whose handler is an anonymous function', () => {
  it('replays from another caller than the one that recorded it', async () => {
    const store = createMemoryStore();
    const recording = await recordAgent(agent, { store, redactionSalt: 'salt' });
    async function serveOneRequest(ticket: string) {
      return recording.handle({ ticket });
    }
    const { runId } = await serveOneRequest('T-1');
    await recording.flush();

    const tape = await store.getTape(runId);
    const randomKeys = tape.eventTexts
      .map((text) => JSON.parse(text) as { kind: string; key: string })
      .filter((event) => event.kind === 'random')
      .map((event) => event.key);
    expect(randomKeys.length).toBeGreaterThan(0);
    for (const key of randomKeys) expect(key).not.toContain('serveOneRequest');

    async function replayFromTheCommandLine() {
      return createReplayer({ store, agent: agent as never, redactionSalt: 'salt' }).replay(runId);
    }
    const result = await replayFromTheCommandLine();
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
