import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecorder, createRedactor, defineAgent, type PiiRule } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { exportRun, importRun, openStore, type Store } from '../../src/store/index.ts';

/**
 * What the agent received (its input, tool results, retrieval results) must reach the replayed
 * agent unchanged: through the recorder, the SQLite store, an export, an import into another
 * store and the replay. Unchanged means deep-equal with the same key order, `__proto__` and
 * `constructor` as data, arrays as arrays. With PII rules, equal to the redacted value, and the
 * shape (keys, their order, array lengths) identical to what the agent received.
 *
 * Each property run records one run that receives a whole batch of generated values (as its
 * input, and again from a tool and a retrieval per value), so a few dozen recorded runs cover
 * the 10,000 generated cases: CASES_WITHOUT_RULES + CASES_WITH_RULES below.
 */

const BATCH = 100;
const RUNS_WITHOUT_RULES = 60;
const RUNS_WITH_RULES = 40;
export const GENERATED_CASES = BATCH * (RUNS_WITHOUT_RULES + RUNS_WITH_RULES);

const SALT = 'roundtrip-salt';
const RULES: PiiRule[] = [
  { name: 'email', pattern: /[\w.+-]+@[\w-]+\.example/g },
  { name: 'phone', field: 'phone' },
];

/** Keys that trip naive object handling, and keys a JSON object can have in general. */
const keyArbitrary = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', '0', '1', '10', '-1', '01', 'a b', 'token', 'phone'),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);

/** Words that look a little like secrets but are not: no built-in redaction may touch them. */
const ordinaryText = fc.constantFrom(
  'token',
  'key',
  'the bearer of news',
  'Bearer',
  'sk-learn',
  'task-1234567890abcdefghijklmnop',
  'max_tokens=5',
  'https://example.com/a?q=1&page=2#top',
  'eyJ',
  'AKIA',
  'AIza',
  'x-api-key',
  'password',
);

const stringArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: ordinaryText },
);

/** Numbers JSON holds exactly (-0 is written as 0 by JSON itself, so it is left out). */
const numberArbitrary = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Object.is(value, -0)),
  fc.constantFrom(0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_VALUE),
);

/** An object built member by member, so `__proto__` is an own key (as JSON.parse makes it). */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function jsonArbitrary(text: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      text,
      numberArbitrary,
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(keyArbitrary, tie('value')), { maxLength: 5 }).map(objectOf),
    ),
  }));
  return value;
}

/** Text with what the PII rules and the built-in key shapes match, among ordinary text. */
const textWithPii = fc.oneof(
  stringArbitrary,
  fc
    .tuple(stringArbitrary, fc.stringMatching(/^[a-z]{1,6}@[a-z]{1,5}\.example$/), stringArbitrary)
    .map(([before, email, after]) => `${before} ${email} ${after}`),
  fc.stringMatching(/^[A-Za-z0-9]{24}$/).map((body) => `key sk-proj-${body}`),
  fc.stringMatching(/^[a-z]{1,5}$/).map((user) => `https://${user}:pw@host.example/x?sessionid=${user}&q=1`),
);

const withoutRules = jsonArbitrary(stringArbitrary);
const withRules = jsonArbitrary(textWithPii);

/** Same keys in the same order, arrays as arrays of the same length; leaves may differ only by a token. */
function sameShape(received: unknown, replayed: unknown, path = '$'): string | undefined {
  if (Array.isArray(received)) {
    if (!Array.isArray(replayed) || replayed.length !== received.length) return `${path}: not an array of ${received.length}`;
    for (let index = 0; index < received.length; index++) {
      const problem = sameShape(received[index], replayed[index], `${path}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (received !== null && typeof received === 'object') {
    if (replayed === null || typeof replayed !== 'object' || Array.isArray(replayed)) return `${path}: not an object`;
    if (Object.getPrototypeOf(replayed) !== Object.prototype) return `${path}: not a plain object`;
    const keys = Object.keys(received);
    if (JSON.stringify(Object.keys(replayed)) !== JSON.stringify(keys))
      return `${path}: keys ${JSON.stringify(Object.keys(replayed))}, expected ${JSON.stringify(keys)}`;
    for (const key of keys) {
      const problem = sameShape((received as Record<string, unknown>)[key], (replayed as Record<string, unknown>)[key], `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (Object.is(received, replayed)) return undefined;
  // A field rule replaces a whole member (a string, number or object) by its token.
  if (typeof replayed === 'string' && replayed.includes('[redacted:')) return undefined;
  return `${path}: ${JSON.stringify(replayed)}, expected ${JSON.stringify(received)}`;
}

interface Received {
  input: unknown;
  tools: unknown[];
  retrievals: unknown[];
}
/** What the tools return while recording; nothing while replaying (the tape serves them then). */
let served: unknown[] = [];
/** What the agent got in its latest run. */
let lastReceived: Received | undefined;

function roundTripAgent(piiRules: readonly PiiRule[] | undefined) {
  return defineAgent<unknown[], string>({
    name: 'roundtrip',
    codeVersion: 'v1',
    ...(piiRules ? { piiRules } : {}),
    create({ rec }) {
      const tool = rec.tool('echo', async (index: number) => served[index], { effect: 'read' });
      const retrieval = rec.retrieval('kb', async (index: number) => served[index]);
      return async (input) => {
        const got: Received = { input, tools: [], retrievals: [] };
        for (let index = 0; index < input.length; index++) {
          got.tools.push(await tool(index));
          got.retrievals.push(await retrieval(index));
        }
        lastReceived = got;
        return `received ${input.length}`;
      };
    },
  });
}

const directory = mkdtempSync(join(tmpdir(), 'retrial-roundtrip-'));
let recordingStore: Store;
let importingStore: Store;
beforeAll(async () => {
  recordingStore = await openStore(join(directory, 'recorded.db'));
  importingStore = await openStore(join(directory, 'imported.db'));
});
afterAll(async () => {
  await recordingStore.close();
  await importingStore.close();
  rmSync(directory, { recursive: true, force: true });
});

let runNumber = 0;

/** Records `values` as one run, exports it, imports it into the other store, replays it there. */
async function roundTrip(values: unknown[], piiRules: readonly PiiRule[] | undefined): Promise<{ replayed: Received }> {
  const agent = roundTripAgent(piiRules);
  const rec = createRecorder({ store: recordingStore, agent: agent.name, redaction: { salt: SALT, ...(piiRules ? { rules: piiRules } : {}) } });
  const runId = `run_roundtrip_${++runNumber}`;
  served = values;
  const output = await rec.run(values, agent.create({ rec, env: {} }), { runId });
  expect(output).toBe(`received ${values.length}`);
  const imported = await importRun(importingStore, await exportRun(recordingStore, runId));
  expect(imported.outcome).toBe('imported');
  lastReceived = undefined;
  served = [];
  const result = await replayRun({ store: importingStore, runId, agent: agent as never, redactionSalt: SALT });
  expect(result.divergences).toEqual([]);
  expect(result.ok).toBe(true);
  const replayed = lastReceived;
  if (!replayed) throw new Error('the replayed agent did not run');
  return { replayed };
}

describe('what the agent received round-trips through record, store, export, import and replay', () => {
  it(`without PII rules: deep-equal, same key order (${BATCH * RUNS_WITHOUT_RULES} values, each as input, tool and retrieval result)`, {
    timeout: 600_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(withoutRules, { minLength: BATCH, maxLength: BATCH }), async (values) => {
        const { replayed } = await roundTrip(values, undefined);
        for (const got of [replayed.input, replayed.tools, replayed.retrievals]) {
          expect(sameShape(values, got)).toBeUndefined();
          expect(JSON.stringify(got)).toBe(JSON.stringify(values));
        }
      }),
      { numRuns: RUNS_WITHOUT_RULES },
    );
  });

  it(`with PII rules: the redacted value, in the shape received (${BATCH * RUNS_WITH_RULES} values)`, { timeout: 600_000 }, async () => {
    const redactor = createRedactor({ salt: SALT, rules: RULES });
    await fc.assert(
      fc.asyncProperty(fc.array(withRules, { minLength: BATCH, maxLength: BATCH }), async (values) => {
        const { replayed } = await roundTrip(values, RULES);
        const expected = JSON.stringify(redactor.value(JSON.parse(JSON.stringify(values))));
        for (const got of [replayed.input, replayed.tools, replayed.retrievals]) {
          expect(sameShape(values, got)).toBeUndefined();
          expect(JSON.stringify(got)).toBe(expected);
        }
      }),
      { numRuns: RUNS_WITH_RULES },
    );
  });
});
