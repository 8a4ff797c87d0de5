import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimulatedModel, createSimulatorFetch } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder, createRedactor, defineAgent, type RecordingFailure, type RecordingRecorder } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { deriveRunLedger, exportRun, importRun, openSqliteStore, type Store, StoreError, verifyStore, type WriteBatch } from '../../src/store/index.ts';
import { createBlob } from '../../src/tape/index.ts';

/** A value nested `depth` levels deep: { next: { next: ... { leaf: true } } }. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let level = 0; level < depth; level++) value = { next: value };
  return value;
}

function cyclic(): Record<string, unknown> {
  const value: Record<string, unknown> = { id: 'A-3', owner: { name: 'x' } };
  (value.owner as Record<string, unknown>).account = value;
  return value;
}

const BAD_VALUES: Array<{ name: string; make: () => unknown; reason: RegExp }> = [
  { name: 'NaN', make: () => ({ id: 'A-3', score: Number.NaN }), reason: /^tool lookup_account result: NaN at \$\.score$/ },
  { name: 'a BigInt', make: () => ({ id: 'A-3', balance: 12n }), reason: /^tool lookup_account result: a BigInt at \$\.balance$/ },
  { name: 'a cycle', make: cyclic, reason: /^tool lookup_account result: a cycle \(the value contains itself\) at \$\.owner\.account$/ },
  {
    name: 'a 100,000-deep value',
    make: () => nested(100_000),
    reason: /^tool lookup_account result: nesting deeper than 1000 levels .* at \$\.next\.next.*…\(1000 levels\)…/,
  },
];

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the recorder never hurts the agent: one run with a value JSON cannot hold, five innocent runs', () => {
  for (const bad of BAD_VALUES) {
    it(`a tool returning ${bad.name}: every agent call returns, the bad run is incomplete with its reason, the other five complete and verify`, async () => {
      const store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'retrial-faults-')), 'faults.db'));
      const failures: RecordingFailure[] = [];
      const rec = createRecorder({ store, agent: 'support', onRecordingError: (failure) => failures.push(failure) });
      const received: unknown[] = [];
      const lookup = rec.tool(
        'lookup_account',
        async (id: string) => {
          await tick();
          return id === 'A-3' ? bad.make() : { id, score: 0.5 };
        },
        { effect: 'read' },
      );
      const closeTicket = rec.tool('close_ticket', async (id: string) => ({ closed: id }), { effect: 'write' });
      const agent = async (id: string) => {
        const account = await lookup(id);
        received.push(account);
        await tick();
        const again = (await lookup(`${id}-again`)) as { score: number };
        rec.decide({ type: 'ticket.action', subject: id, value: 'close' });
        const closed = await closeTicket(id);
        rec.note('done', { id });
        return { id, again: again.score, closed };
      };
      const ids = ['A-1', 'A-2', 'A-3', 'A-4', 'A-5', 'A-6'];
      const outputs = await Promise.all(ids.map((id) => rec.run(id, agent, { runId: `run_${id.toLowerCase().replace('-', '_')}` })));

      expect(outputs).toEqual(ids.map((id) => ({ id, again: 0.5, closed: { closed: id } })));
      // The agent got its real value, not a copy the recorder could make of it.
      expect(
        received.some(
          (value) =>
            value !== null && typeof value === 'object' && ('leaf' in value || 'next' in value || 'owner' in value || 'score' in value || 'balance' in value),
        ),
      ).toBe(true);
      const badRun = await store.getRunOrThrow('run_a_3');
      expect(badRun.status).toBe('incomplete');
      expect(badRun.ending?.error?.name).toBe('RecordingIncomplete');
      expect(badRun.ending?.error?.message).toMatch(/^value: tool lookup_account result: /);
      expect(failures).toHaveLength(1);
      expect(failures[0]?.runId).toBe('run_a_3');
      expect(failures[0]?.kind).toBe('value');
      expect(failures[0]?.reason).toMatch(bad.reason);

      for (const id of ['run_a_1', 'run_a_2', 'run_a_4', 'run_a_5', 'run_a_6']) {
        const run = await store.getRunOrThrow(id);
        expect(run.status).toBe('complete');
        expect(run.eventCount).toBeGreaterThanOrEqual(5);
      }
      const verdicts = [];
      for await (const verdict of verifyStore(store)) verdicts.push(verdict);
      expect(verdicts).toHaveLength(6);
      expect(verdicts.filter((verdict) => !verdict.ok)).toEqual([]);
      expect((await store.listDecisions({ type: 'ticket.action' })).map((decision) => decision.subject).sort()).toEqual(['A-1', 'A-2', 'A-4', 'A-5', 'A-6']);
      const health = rec.health();
      expect(health.runsDegraded).toBe(1);
      expect(health.runsMarkedIncomplete).toBe(1);
      expect(health.marksPending).toBe(0);
      // The bad run's later lookup, decision, write tool and note were not recorded, and were counted.
      expect(health.eventsDropped).toBeGreaterThanOrEqual(4);
      expect(health.bufferedEvents).toBe(0);
      await store.close();
    });
  }

  it('a run whose output JSON cannot hold returns it to the caller and is marked, with the path', async () => {
    const store = await openSqliteStore(':memory:');
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', onRecordingError: (failure) => failures.push(failure) });
    const output = await rec.run(null, async () => ({ total: Number.POSITIVE_INFINITY }), { runId: 'run_inf' });
    expect(output).toEqual({ total: Number.POSITIVE_INFINITY });
    expect((await store.getRunOrThrow('run_inf')).ending?.error?.message).toBe('value: run output: Infinity at $.total');
    expect(failures.map((failure) => failure.kind)).toEqual(['value']);
  });

  it('a decision with an invalid effectiveAt stops its run instead of throwing into the agent', async () => {
    const store = await openSqliteStore(':memory:');
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', onRecordingError: (failure) => failures.push(failure) });
    const output = await rec.run(
      null,
      async () => {
        rec.decide({ type: 'refund', subject: 'C-1', value: 'yes', effectiveAt: 'not a date' });
        return 'decided';
      },
      { runId: 'run_bad_date' },
    );
    expect(output).toBe('decided');
    expect(failures).toEqual([{ runId: 'run_bad_date', kind: 'value', reason: 'decision refund effectiveAt could not be recorded: Invalid time value' }]);
    expect((await store.getRunOrThrow('run_bad_date')).status).toBe('incomplete');
    expect(await store.listDecisions({ runId: 'run_bad_date' })).toEqual([]);
  });

  it('with no hook, warns once per distinct cause on stderr and never throws', async () => {
    const store = await openSqliteStore(':memory:');
    const rec = createRecorder({ store, agent: 'support' });
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const score = rec.tool('score', () => ({ score: Number.NaN }), { effect: 'read' });
      for (let index = 0; index < 5; index++) await rec.run(null, () => score());
    } finally {
      process.stderr.write = write;
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^retrial: run run_\w+ is not fully recorded \(value\): tool score result: NaN at \$\.score; the agent is not affected\.\n$/);
    expect(rec.health().runsDegraded).toBe(5);
  });
});

/** An agent whose output depends on every detail of what its tool returned. */
const faithfulAgent = defineAgent<null, string>({
  name: 'faithful',
  codeVersion: 'v1',
  create({ rec }) {
    const lookup = rec.tool(
      'lookup_account',
      async () => {
        const record = JSON.parse('{"zeta":1,"__proto__":{"polluted":true},"alpha":[1,-0.5,"x",null]}') as Record<string, unknown>;
        return { record, deep: nested(900), at: new Date(Date.UTC(2026, 0, 2)) };
      },
      { effect: 'read' },
    );
    return async () => {
      const value = (await lookup()) as { record: Record<string, unknown>; deep: Record<string, unknown>; at: unknown };
      let depth = 0;
      for (let node = value.deep; node.next; node = node.next as Record<string, unknown>) depth++;
      return JSON.stringify({
        keys: Object.keys(value),
        recordKeys: Object.keys(value.record),
        ownProto: Object.hasOwn(value.record, '__proto__'),
        record: value.record,
        depth,
        at: value.at,
      });
    };
  },
});

describe('values at the edge of what JSON holds are recorded faithfully', () => {
  it('a 900-deep value, an own __proto__ key and a Date: replay serves what the agent received', async () => {
    const store = await openSqliteStore(':memory:');
    const rec = createRecorder({ store, agent: 'faithful', redaction: { salt: 's' }, onRecordingError: (failure) => expect.fail(failure.reason) });
    const recorded = await rec.run(null, faithfulAgent.create({ rec, env: {} }), { runId: 'run_faithful' });
    expect(JSON.parse(recorded)).toMatchObject({ keys: ['record', 'deep', 'at'], recordKeys: ['zeta', '__proto__', 'alpha'], ownProto: true, depth: 900 });
    expect((await store.getRunOrThrow('run_faithful')).status).toBe('complete');
    for await (const verdict of verifyStore(store)) expect(verdict.problems).toEqual([]);

    const result = await replayRun({ store, runId: 'run_faithful', agent: faithfulAgent as never, redactionSalt: 's' });
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
    // ok means the replayed agent built the same output from what the tape served.
    const tape = await loadTape(store, 'run_faithful');
    const tool = tape.events.find((event) => event.kind === 'tool');
    const served = tape.received(tool as never) as { record: object };
    expect(Object.keys(served.record)).toEqual(['zeta', '__proto__', 'alpha']);
    expect(JSON.stringify(served)).toBe(
      JSON.stringify({
        record: JSON.parse('{"zeta":1,"__proto__":{"polluted":true},"alpha":[1,-0.5,"x",null]}'),
        deep: nested(900),
        at: '2026-01-02T00:00:00.000Z',
      }),
    );
  });
});

/** About `mb` MB of JSON whose keys are not in canonical order, so its key-order text is kept too. */
function largeResult(mb: number): { total: number; items: Array<Record<string, unknown>> } {
  const items: Array<Record<string, unknown>> = [];
  for (let index = 0; items.length * 120 < mb * 1024 * 1024; index++)
    items.push({ zid: `ord_${index}`, status: index % 7 ? 'paid' : 'refunded', amount: index / 10, note: `note ${index} \u{1F600} "q"` });
  return { total: items.length, items };
}

const largeAgent = defineAgent<null, string>({
  name: 'large',
  codeVersion: 'v1',
  create({ rec }) {
    const list = rec.tool('list_orders', async () => largeResult(3), { effect: 'read' });
    return async () => {
      const result = await list();
      return `${Object.keys(result.items[5] ?? {}).join(',')}:${result.total}:${JSON.stringify(result).length}`;
    };
  },
});

/** About 3 MB of arguments, an API key in every item, keys not in canonical order. */
function largeArgument(): { total: number; items: Array<Record<string, unknown>> } {
  const { total, items } = largeResult(3);
  return { total, items: items.map((item, index) => ({ ...item, owner: `owner${index} key=sk-proj-${String(index).padStart(24, 'A')}` })) };
}

const largeArgsAgent = defineAgent<null, string>({
  name: 'large-args',
  codeVersion: 'v1',
  create({ rec }) {
    const store = rec.tool('store_orders', async (orders: { total: number }) => ({ stored: orders.total }), { effect: 'write' });
    return async () => `stored:${(await store(largeArgument())).stored}`;
  },
});

describe('large values', () => {
  it('a 3 MB result is canonicalized in slices off the path of the agent: verify passes and replay serves it key order included', async () => {
    const store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'retrial-large-')), 'large.db'));
    const rec = createRecorder({ store, agent: 'large', redaction: { salt: 's' }, onRecordingError: (failure) => expect.fail(failure.reason) });
    const recorded = await rec.run(null, largeAgent.create({ rec, env: {} }), { runId: 'run_large' });
    await store.idle();
    expect(recorded).toMatch(/^zid,status,amount,note:\d+:\d+$/);
    for await (const verdict of verifyStore(store)) expect(verdict.problems).toEqual([]);
    const tape = await loadTape(store, 'run_large');
    const tool = tape.events.find((event) => event.kind === 'tool') as { resultText?: string };
    expect(tool.resultText).toBeDefined();
    expect(JSON.stringify(tape.received(tool as never))).toBe(JSON.stringify(largeResult(3)));
    const result = await replayRun({ store, runId: 'run_large', agent: largeAgent as never, redactionSalt: 's' });
    expect(result.divergences).toEqual([]);
    await store.close();
  });

  it('a 3 MB tool argument is redacted and canonicalized in slices: its blob is the requestHash, verify passes, replay reproduces, a serve hook gets its hash', async () => {
    const store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'retrial-large-args-')), 'large.db'));
    // No PII rules: with them, replay would also accept the older way of hashing arguments (legacyArgsHash).
    const rec = createRecorder({ store, agent: 'large-args', redaction: { salt: 's' }, onRecordingError: (failure) => expect.fail(failure.reason) });
    const recorded = await rec.run(null, largeArgsAgent.create({ rec, env: {} }), { runId: 'run_large_args' });
    await store.idle();
    expect(recorded).toBe(`stored:${largeResult(3).total}`);
    for await (const verdict of verifyStore(store)) expect(verdict.problems).toEqual([]);
    const tape = await loadTape(store, 'run_large_args');
    const tool = tape.events.find((event) => event.kind === 'tool') as { args: string; requestHash: string };
    expect(tool.requestHash).toBe(tool.args);
    await tape.loadBlobs([tool.args]);
    const stored = tape.blob<[{ total: number; items: Array<{ note: string; owner: string }> }]>(tool.args);
    // Redacted as value() redacts it, and hashed as createBlob hashes it.
    const redactor = createRedactor({ salt: 's' });
    const expected = redactor.value(JSON.parse(JSON.stringify([largeArgument()])));
    expect(stored[0].items[7]?.owner).toMatch(/^owner7 key=\[redacted:api-key:[0-9a-f]{12}\]$/);
    expect(createBlob(expected).hash).toBe(tool.requestHash);
    const result = await replayRun({ store, runId: 'run_large_args', agent: largeArgsAgent as never, redactionSalt: 's' });
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
    // A fork's serve hook gets the same hash, taken in slices too, to find the parent's call.
    const hashes: Array<string | undefined> = [];
    const serving = createRecorder({
      store,
      agent: 'large-args',
      redaction: { salt: 's' },
      serve: {
        tool: ({ argsHash }) => {
          hashes.push(argsHash);
          return { result: { stored: 1 } };
        },
      },
    });
    expect(await serving.run(null, largeArgsAgent.create({ rec: serving, env: {} }), { runId: 'run_large_args_served' })).toBe('stored:1');
    expect(hashes).toEqual([tool.requestHash]);
    await store.close();
  });

  it('a large argument and a long string are redacted a piece at a time: other turns of the event loop run between their pieces', async () => {
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // The loop turns at which the e-mail rule looked at the argument's strings and at the log's pieces: one turn would mean one piece, the loop held.
    const seen = { argument: new Set<number>(), log: new Set<number>() };
    class WatchedPattern extends RegExp {
      override exec(input: string): RegExpExecArray | null {
        if (input.includes('argument-owner')) seen.argument.add(ticks);
        if (input.includes('GET https')) seen.log.add(ticks);
        return super.exec(input);
      }
    }
    const rules = [{ name: 'email', pattern: new WatchedPattern('[\\w.+-]+@[\\w-]+\\.[\\w.]+', 'g') }];
    const store = await openSqliteStore(':memory:');
    const rec = createRecorder({ store, agent: 'watched', redaction: { salt: 's', rules }, onRecordingError: (failure) => expect.fail(failure.reason) });
    const items = Array.from({ length: 40_000 }, (_, index) => ({ owner: `argument-owner${index}@mail.test`, note: 'x'.repeat(40) }));
    const log = Array.from({ length: 40_000 }, (_, index) => `GET https://api.test/orders/${index}?token=t${index} 200 log${index}@mail.test\n`).join('');
    const fetchLog = rec.tool('fetch_log', async (orders: typeof items) => ({ log, count: orders.length }), { effect: 'read' });
    expect(await rec.run(null, async () => (await fetchLog(items)).count, { runId: 'run_watched' })).toBe(40_000);
    await rec.flush();
    ticking = false;
    expect(seen.argument.size).toBeGreaterThan(1);
    expect(seen.log.size).toBeGreaterThan(1);
    const tape = await loadTape(store, 'run_watched');
    const tool = tape.events.find((event) => event.kind === 'tool') as { args: string };
    const received = tape.received(tool as never) as { log: string };
    expect(received.log.split('\n')[9]).toMatch(
      /^GET https:\/\/api\.test\/orders\/9\?token=\[redacted:credential:[0-9a-f]{12}\] 200 \[redacted:email:[0-9a-f]{12}\]$/,
    );
    await tape.loadBlobs([tool.args]);
    expect(tape.blob<[typeof items]>(tool.args)[0][9]?.owner).toMatch(/^\[redacted:email:[0-9a-f]{12}\]$/);
  });

  it('a value over maxValueBytes is refused for its run with the limit named; the agent still gets it', async () => {
    const store = await openSqliteStore(':memory:');
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'large', maxValueBytes: 1024 * 1024, onRecordingError: (failure) => failures.push(failure) });
    const list = rec.tool('list_orders', async () => largeResult(2), { effect: 'read' });
    const total = await rec.run(null, async () => (await list()).total, { runId: 'run_too_large' });
    expect(total).toBe(largeResult(2).total);
    expect(failures.map((failure) => failure.reason)).toEqual([
      "tool list_orders result: larger than 1 MB of JSON (the recorder's maxValueBytes) at $.items[" + failures[0]?.reason.match(/\[(\d+)\]/)?.[1] + ']',
    ]);
    expect((await store.getRunOrThrow('run_too_large')).status).toBe('incomplete');
  });

  it('when the store falls behind, a run that pushes past maxPendingEvents stops (buffer-full), its further events are dropped and counted', async () => {
    const store = await openSqliteStore(':memory:');
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({
      store,
      agent: 'busy',
      flushIntervalMs: 1e9,
      maxBufferedEvents: 1e9,
      maxPendingEvents: 50,
      onRecordingError: (failure) => failures.push(failure),
    });
    const outputs = await Promise.all(
      ['run_small', 'run_chatty'].map((runId) =>
        rec.run(
          runId,
          async (id) => {
            let sum = 0;
            for (let draw = 0; draw < (id === 'run_chatty' ? 200 : 10); draw++) sum += Math.random() >= 0 ? 1 : 0;
            await tick();
            return sum;
          },
          { runId },
        ),
      ),
    );
    expect(outputs).toEqual([10, 200]);
    expect(failures.map((failure) => [failure.runId, failure.kind])).toEqual([['run_chatty', 'buffer-full']]);
    expect(failures[0]?.reason).toMatch(/more than 50 events were waiting for the store/);
    expect((await store.getRunOrThrow('run_small')).status).toBe('complete');
    expect((await store.getRunOrThrow('run_chatty')).status).toBe('incomplete');
    const health = rec.health();
    expect(health.eventsDropped).toBeGreaterThanOrEqual(160);
    expect(health.bufferedEvents).toBe(0);
  });
});

describe('a run marked incomplete after a model call keeps the models its stored events were served by', () => {
  const chat = (rec: RecordingRecorder) =>
    rec.fetch('http://sim.test/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'support-sim', messages: [{ role: 'user', content: 'Refund order 7?' }] }),
    });

  /** Records one run that calls the model, flushes, then fails the way `fault` says; returns its store. */
  async function markedAfterModelCall(fault: 'value' | 'full'): Promise<{ store: Store; failures: RecordingFailure[] }> {
    const real = await openSqliteStore(':memory:');
    let failNextWrite = false;
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'write')
          return async (batch: WriteBatch) => {
            if (failNextWrite) {
              failNextWrite = false;
              throw new StoreError({
                message: 'database or disk is full',
                cause: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
              });
            }
            return target.write(batch);
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Store;
    const failures: RecordingFailure[] = [];
    const simulatorFetch = createSimulatorFetch(createSimulatedModel({ seed: 'marks-models' }));
    const rec = createRecorder({
      store,
      agent: 'support',
      baseFetch: simulatorFetch,
      retryIntervalMs: 5,
      onRecordingError: (failure) => failures.push(failure),
    });
    const score = rec.tool('score', async () => ({ score: fault === 'value' ? Number.NaN : 1 }), { effect: 'read' });
    const refund = rec.tool('issue_refund', async (id: string) => ({ refunded: id }), { effect: 'write' });
    const output = await rec.run(
      'order 7',
      async () => {
        const answer = (await (await chat(rec)).json()) as { model: string };
        await rec.flush();
        await score();
        failNextWrite = fault === 'full';
        const refunded = await refund('order 7');
        return { model: answer.model, refunded };
      },
      { runId: 'run_marked' },
    );
    expect(output.refunded).toEqual({ refunded: 'order 7' });
    await rec.flush();
    expect(rec.health().marksPending).toBe(0);
    return { store: real, failures };
  }

  for (const fault of ['value', 'full'] as const) {
    it(`${fault === 'value' ? 'a tool returns NaN' : 'the store is full once, on a write tool'}: the run is incomplete, verifies clean, and its exported tape imports`, async () => {
      const { store, failures } = await markedAfterModelCall(fault);
      expect(failures.map((failure) => failure.kind)).toEqual([fault === 'value' ? 'value' : 'write']);
      const run = await store.getRunOrThrow('run_marked');
      expect(run.status).toBe('incomplete');
      const events = await store.getEvents('run_marked');
      expect(events.some((event) => event.kind === 'model')).toBe(true);
      expect((await store.listRuns())[0]?.modelsServed).toEqual(deriveRunLedger(run.header, events).modelsServed);
      expect(deriveRunLedger(run.header, events).modelsServed).toHaveLength(1);
      const verdicts = [];
      for await (const verdict of verifyStore(store)) verdicts.push(verdict);
      expect(verdicts.map((verdict) => verdict.problems)).toEqual([[]]);

      const tape = await exportRun(store, 'run_marked');
      const other = await openSqliteStore(':memory:');
      expect(await importRun(other, tape)).toMatchObject({ runId: 'run_marked', outcome: 'imported' });
      expect((await other.getRunOrThrow('run_marked')).status).toBe('incomplete');
      for await (const verdict of verifyStore(other)) expect(verdict.problems).toEqual([]);
    });
  }
});
