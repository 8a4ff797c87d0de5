import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAccountSystem, supportAgent } from '../../src/demo/index.ts';
import { createRecorder, createRedactor, defineAgent, type PiiRule } from '../../src/record/index.ts';
import { type DivergenceCode, replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, exportRun, importRun } from '../../src/store/index.ts';
import { createBlob } from '../../src/tape/index.ts';
import { editTape } from './edit-tape.ts';

/** Tapes recorded by earlier releases (test/fixtures/make-golden-tape.ts) must keep replaying. */
const GOLDEN_SALT = 'golden-tape-salt';
const GOLDEN = ['support-agent-incident.v1.tape.jsonl', 'support-agent-streamed-refund.v1.tape.jsonl'];
const read = (name: string) => readFileSync(new URL(`../fixtures/golden/${name}`, import.meta.url), 'utf8');

async function replayTape(text: string) {
  const store = createMemoryStore();
  const { runId } = await importRun(store, text);
  const accounts = createAccountSystem();
  const result = await replayRun({ store, runId, agent: supportAgent as never, redactionSalt: GOLDEN_SALT, services: accounts });
  return { result, accounts };
}

describe('golden tapes recorded by release 0.1 keep replaying exactly', () => {
  it.each(GOLDEN)('%s', async (name) => {
    const { result, accounts } = await replayTape(read(name));
    expect(result.divergences).toEqual([]);
    expect(accounts.writes).toEqual({});
  });

  it.each<[string, (events: Array<Record<string, unknown>>) => Array<Record<string, unknown>>, DivergenceCode]>([
    [
      'a model request hash changed',
      (events) => events.map((event) => (event.key === 'model:openai-chat#1' ? { ...event, requestHash: '0'.repeat(64) } : event)),
      'PAYLOAD_MISMATCH',
    ],
    ['a tool call removed from the tape', (events) => events.filter((event) => event.key !== 'tool:lookup_account#0'), 'MISSING_CALL'],
    [
      'a tool renamed on the tape',
      (events) => events.map((event) => (event.key === 'tool:lookup_account#0' ? { ...event, key: 'tool:find_account#0', name: 'find_account' } : event)),
      'NAME_MISMATCH',
    ],
    [
      'a call added to the tape',
      (events) => [...events, { ...(events.find((event) => event.kind === 'tool') as object), key: 'tool:lookup_account#9' }],
      'EXTRA_RECORDED',
    ],
    ['a recorded clock read removed', (events) => events.filter((event) => event.key !== 'clock:new Date#0'), 'UNSANCTIONED_NONDETERMINISM'],
    [
      'a recorded decision value changed',
      (events) => events.map((event) => (event.kind === 'decision' ? { ...event, value: 'escalate' } : event)),
      'OUTPUT_MISMATCH',
    ],
  ])('the incident tape with %s diverges with that code', async (_what, edit, code) => {
    const { result, accounts } = await replayTape(editTape(read(GOLDEN[0] as string), edit));
    expect(result.divergences.map((divergence) => divergence.code)).toEqual([code]);
    expect(accounts.writes).toEqual({});
  });
});

describe('tapes recorded before arguments were taken as JSON', () => {
  // Until 2026-11-26, with PII rules the recorder redacted arguments as they were, so a Date was
  // walked as a plain object and hashed as {}. Replay must still accept that hash.
  const rules: PiiRule[] = [{ name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/ }];
  const since = new Date('2026-01-01T00:00:00.000Z');
  const historyAgent = defineAgent<null, number>({
    name: 'history-agent',
    codeVersion: 'v1',
    piiRules: rules,
    create({ rec }) {
      const history = rec.tool('history', async (query: { since: Date; who: string }) => (query.who ? 3 : 0), { effect: 'read' });
      return async () => history({ since, who: 'ana@example.com' });
    },
  });

  it('a Date argument hashed the old way still matches', async () => {
    const store = createMemoryStore();
    const rec = createRecorder({ store, agent: 'history-agent', redaction: { salt: 's', rules } });
    await rec.run(null, historyAgent.create({ rec, env: {} }), { runId: 'run_history' });
    const oldHash = createBlob(createRedactor({ salt: 's', rules }).value([{ since, who: 'ana@example.com' }])).hash;
    const asRecordedBefore = editTape(await exportRun(store, 'run_history'), (events) =>
      events.map((event) => (event.kind === 'tool' ? { ...event, requestHash: oldHash } : event)),
    );
    const before = createMemoryStore();
    const { runId } = await importRun(before, asRecordedBefore);
    const result = await replayRun({ store: before, runId, agent: historyAgent as never, redactionSalt: 's' });
    expect(result.divergences).toEqual([]);

    const changed = editTape(asRecordedBefore, (events) => events.map((event) => (event.kind === 'tool' ? { ...event, requestHash: '0'.repeat(64) } : event)));
    const other = createMemoryStore();
    const imported = await importRun(other, changed);
    const mismatch = await replayRun({ store: other, runId: imported.runId, agent: historyAgent as never, redactionSalt: 's' });
    expect(mismatch.divergences.map((divergence) => divergence.code)).toEqual(['PAYLOAD_MISMATCH']);
  });
});
