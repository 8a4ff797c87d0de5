import { randomUUID as importedRandomUUID, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadTape } from '../inspect/index.ts';
import { createMemoryStore } from '../store/index.ts';
import type { TapeEvent } from '../tape/index.ts';
import { createRecorder } from './recorder.ts';

async function record<T>(fn: (rec: ReturnType<typeof createRecorder>) => Promise<T>, options: { startAt?: number; seed?: string } = {}) {
  const store = createMemoryStore();
  const rec = createRecorder({ store, agent: 'test-agent' });
  const runId = `run_${Math.random().toString(36).slice(2)}`;
  const output = await rec.run(null, () => fn(rec), { runId, ...options });
  const tape = await loadTape(store, runId);
  return { output, tape, store };
}

const ofKind = <K extends TapeEvent['kind']>(events: TapeEvent[], kind: K) =>
  events.filter((event): event is Extract<TapeEvent, { kind: K }> => event.kind === kind);

describe('recorder: clock and randomness inside a run', () => {
  it('serves the injected clock to Date.now, new Date() and Date(), and records each value', async () => {
    const startAt = Date.parse('2026-08-01T02:14:00Z');
    const { output, tape } = await record(
      async () => {
        const now = Date.now();
        const date = new Date();
        const text = Date();
        return { now, iso: date.toISOString(), text, isDate: date instanceof Date, parsed: Date.parse('2020-01-01T00:00:00Z'), utc: Date.UTC(2020, 0, 1) };
      },
      { startAt },
    );
    expect(output.now - startAt).toBeGreaterThanOrEqual(0);
    expect(output.now - startAt).toBeLessThan(1000);
    expect(output.iso.slice(0, 16)).toBe('2026-08-01T02:14');
    expect(output.text).toContain('2026');
    expect(output.isDate).toBe(true);
    expect(output.parsed).toBe(output.utc);
    const clocks = ofKind(tape.events, 'clock');
    expect(clocks.map((event) => event.source)).toEqual(['Date.now', 'new Date', 'Date']);
    expect(clocks[0]?.value).toBe(output.now);
    expect(clocks.map((event) => event.key)).toEqual(['clock:Date.now#0', 'clock:new Date#0', 'clock:Date#0']);
    expect(tape.run.header.recordedAt.slice(0, 16)).toBe('2026-08-01T02:14');
  });

  it('leaves the clock and randomness alone outside a run', async () => {
    createRecorder({ store: createMemoryStore(), agent: 'x' });
    // biome-ignore lint/complexity/useDateNow: compares the Date constructor with Date.now on purpose
    expect(Math.abs(Date.now() - new Date().getTime())).toBeLessThan(50);
    expect(new Date(0).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(typeof Math.random()).toBe('number');
  });

  it('records Math.random, crypto.randomUUID (also the ESM import), getRandomValues and randomBytes values', async () => {
    const { output, tape } = await record(async () => ({
      random: Math.random(),
      uuid: crypto.randomUUID(),
      imported: importedRandomUUID(),
      bytes: Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('base64'),
      nodeBytes: randomBytes(4).toString('base64'),
      performance: performance.now(),
    }));
    const randoms = ofKind(tape.events, 'random');
    expect(randoms.map((event) => event.source)).toEqual([
      'Math.random',
      'crypto.randomUUID',
      'crypto.randomUUID',
      'crypto.getRandomValues',
      'crypto.randomBytes',
    ]);
    expect(randoms.map((event) => event.value)).toEqual([output.random, output.uuid, output.imported, output.bytes, output.nodeBytes]);
    expect(output.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ofKind(tape.events, 'clock').find((event) => event.source === 'performance.now')?.value).toBe(output.performance);
  });

  it('draws from one stream per call site, so a new draw elsewhere does not shift the values', async () => {
    function drawA() {
      return Math.random();
    }
    function drawB() {
      return Math.random();
    }
    const first = await record(async () => [drawA(), drawB()], { seed: 'feed' });
    const second = await record(async () => [drawB(), drawA(), drawA()], { seed: 'feed' });
    expect(second.output[0]).toBe(first.output[1]);
    expect(second.output[1]).toBe(first.output[0]);
    const streams = ofKind(first.tape.events, 'random').map((event) => event.stream);
    // Named by function only: nothing of the file's path or the working directory (RecorderFlag.PortableKeys).
    expect(streams).toEqual(['drawA', 'drawB']);
  });
});

describe('recorder: tools, decisions and ordering', () => {
  it('takes causal-key ordinals when calls start, so Promise.all keeps issue order', async () => {
    const { tape } = await record(async (rec) => {
      const slowThenFast = rec.tool(
        'fetch_item',
        async (id: number) => {
          await new Promise((resolve) => setTimeout(resolve, id === 0 ? 30 : 1));
          return { id };
        },
        { effect: 'read' },
      );
      return Promise.all([slowThenFast(0), slowThenFast(1)]);
    });
    const tools = ofKind(tape.events, 'tool');
    expect(tools.map((event) => [event.key, (tape.blob(event.args) as number[])[0]])).toEqual([
      ['tool:fetch_item#1', 1],
      ['tool:fetch_item#0', 0],
    ]);
  });

  it('runs tool bodies opaque: their clock reads are not recorded, their result is', async () => {
    const { tape } = await record(async (rec) => {
      const stamp = rec.tool('stamp', () => ({ at: Date.now(), r: Math.random() }), { effect: 'write' });
      return stamp();
    });
    expect(ofKind(tape.events, 'clock')).toHaveLength(0);
    expect(ofKind(tape.events, 'random')).toHaveLength(0);
    const [tool] = ofKind(tape.events, 'tool');
    expect(tool?.effect).toBe('write');
    expect(tape.blob(tool?.result ?? '')).toHaveProperty('at');
  });

  it('records what a tool got and returned as of the call, in the key order the agent saw', async () => {
    const { tape } = await record(async (rec) => {
      const lookup = rec.tool(
        'lookup',
        (query: { ids: string[] }) => {
          query.ids.push('added-by-the-tool');
          return { zone: 'eu', account: { status: 'open', balance: 3 } };
        },
        { effect: 'read' },
      );
      const result = await lookup({ ids: ['C-1'] });
      // The agent annotates the result after the call; the tape must keep what the tool returned.
      (result as Record<string, unknown>).seenByAgent = true;
      return Object.keys(result);
    });
    const [tool] = ofKind(tape.events, 'tool');
    if (!tool) throw new Error('no tool event');
    expect(tape.blob(tool.args)).toEqual([{ ids: ['C-1'] }]);
    expect(tape.blob(tool.result ?? '')).toEqual({ zone: 'eu', account: { status: 'open', balance: 3 } });
    // Canonical order would be account, zone: the exact text keeps zone first.
    expect(tool.resultText).toBeDefined();
    expect(tape.blob(tool.resultText ?? '')).toBe('{"zone":"eu","account":{"status":"open","balance":3}}');
    expect(Object.keys(tape.received(tool) as object)).toEqual(['zone', 'account']);
  });

  it('refuses a tool result JSON cannot hold rather than storing something else (NaN is not null), without throwing into the agent', async () => {
    const store = createMemoryStore();
    const failures: unknown[] = [];
    const rec = createRecorder({ store, agent: 'a', onRecordingError: (failure) => failures.push(failure) });
    const score = rec.tool('score', () => ({ score: Number.NaN }), { effect: 'read' });
    await expect(rec.run(null, () => score(), { runId: 'run_nan' })).resolves.toEqual({ score: Number.NaN });
    const run = await store.getRun('run_nan');
    expect(run?.status).toBe('incomplete');
    expect(run?.ending?.error?.message).toBe('value: tool score result: NaN at $.score');
    expect(failures).toEqual([{ runId: 'run_nan', kind: 'value', reason: 'tool score result: NaN at $.score' }]);
  });

  it('stores no key-order text when the result is already in canonical order', async () => {
    const { tape } = await record(async (rec) => rec.tool('sorted', () => ({ a: 1, b: { c: 2 } }), { effect: 'read' })());
    const [tool] = ofKind(tape.events, 'tool');
    expect(tool?.resultText).toBeUndefined();
    expect(tape.received(tool as Extract<TapeEvent, { kind: 'tool' }>)).toEqual({ a: 1, b: { c: 2 } });
  });

  it('defaults tools to write and records errors', async () => {
    const store = createMemoryStore();
    const rec = createRecorder({ store, agent: 'a' });
    const boom = rec.tool('boom', () => {
      throw new Error('disk full');
    });
    await expect(rec.run(1, () => boom(), { runId: 'run_err' })).rejects.toThrow('disk full');
    const tape = await loadTape(store, 'run_err');
    const [tool] = ofKind(tape.events, 'tool');
    expect(tool).toMatchObject({ effect: 'write', result: null, error: { message: 'disk full' } });
    expect(tape.run.status).toBe('failed');
    expect(ofKind(tape.events, 'error')[0]?.message).toBe('disk full');
  });

  it('records decisions in the ledger with valid and record time', async () => {
    const startAt = Date.parse('2026-09-10T12:00:00Z');
    const { store, tape } = await record(
      async (rec) => {
        rec.config({ promptVersion: 'p1', flags: { strict: true } });
        rec.decide({
          type: 'refund.category',
          subject: 'C-1',
          value: 'approve',
          amount: 12.5,
          currency: 'USD',
          reversible: false,
          attributes: { plan: 'plus' },
        });
      },
      { startAt },
    );
    const [decision] = await store.listDecisions({ runId: tape.run.header.runId });
    expect(decision).toMatchObject({
      type: 'refund.category',
      subject: 'C-1',
      value: 'approve',
      amount: 12.5,
      reversible: false,
      attributes: { plan: 'plus' },
      seq: 2,
    });
    expect(decision?.effectiveAt).toBeGreaterThanOrEqual(startAt);
    expect(ofKind(tape.events, 'config')[0]).toMatchObject({ promptVersion: 'p1', flags: { strict: true } });
  });

  it('marks an HTTP call and a retrieval that a serve hook answered (a fork) as stubbed, and live ones not', async () => {
    const store = createMemoryStore();
    const rec = createRecorder({
      store,
      agent: 'test-agent',
      baseFetch: async () => new Response('live'),
      serve: {
        fetch: ({ url }) => (url.includes('served') ? new Response('from the parent') : undefined),
        tool: ({ kind }) => (kind === 'retrieval' ? { result: ['doc-1'] } : undefined),
      },
    });
    const search = rec.retrieval('kb', async (query: string) => [`live ${query}`]);
    const output = await rec.run(
      null,
      async () => [await (await rec.fetch('https://api.test/served')).text(), await (await rec.fetch('https://api.test/live')).text(), await search('q')],
      { runId: 'run_served' },
    );
    expect(output).toEqual(['from the parent', 'live', ['doc-1']]);
    const tape = await loadTape(store, 'run_served');
    const calls = tape.events.flatMap((event) =>
      event.kind === 'tool' || event.kind === 'retrieval' ? [[event.kind, event.name, event.stubbed ?? false]] : [],
    );
    expect(calls).toEqual([
      ['tool', 'http GET api.test', true],
      ['tool', 'http GET api.test', false],
      ['retrieval', 'kb', true],
    ]);
  });

  it('refuses rec.decide outside a run with a sentence that says what to do', () => {
    const rec = createRecorder({ store: createMemoryStore(), agent: 'a' });
    expect(() => rec.decide({ type: 't', subject: 's', value: 'v' })).toThrow(/wrap the agent call in rec\.run/);
  });
});
