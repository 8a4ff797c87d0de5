import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DecisionRecord, openPostgresStore, openStore, type VerifyProblem, verifyLedger, verifyStore } from '../../src/store/index.ts';
import { testPostgresUrl } from '../fixtures/postgres.ts';
import { writeRun } from './store-backends.ts';
import { buildRun } from './tape-builder.ts';

/**
 * ledger-tamper.test.ts on PostgreSQL: a change made with plain SQL to a ledger row, a run's row,
 * a correction, an audit entry or a finished run's pack is found by `verify` (opened read-only),
 * named with its run, decision and field. Each case edits its own copy of one pristine database
 * (CREATE DATABASE ... TEMPLATE).
 */

const CORRECTED = 'run-a:5';
const CORRECTION = `${CORRECTED}/rc_1`;
const suffix = randomBytes(4).toString('hex');
const pristine = `retrial_t_tamper_${suffix}`;
const made: string[] = [];

function urlOf(database: string): string {
  const url = new URL(testPostgresUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(body: (client: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const client = new pg.Client({ connectionString: database ? urlOf(database) : testPostgresUrl() });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin((client) => client.query(`CREATE DATABASE ${pristine}`));
  made.push(pristine);
  const store = await openPostgresStore(urlOf(pristine));
  const runA = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
  await writeRun(store, runA);
  await writeRun(
    store,
    buildRun({
      runId: 'run-b',
      decisions: [
        { type: 'refund', subject: 'cust-2', value: 'approve', amount: 40 },
        { type: 'refund', subject: 'cust-3', value: 'deny', amount: 7.25 },
      ],
    }),
  );
  await writeRun(store, buildRun({ runId: 'run-c' }));
  const original = runA.decisions[0] as DecisionRecord;
  await store.campaigns.putCorrections([
    { idempotencyKey: 'rc_1', campaignId: 'bf_1', itemId: CORRECTED, status: 'pending', attempts: 0, lastError: null, appliedAt: null, correction: {} },
  ]);
  await store.campaigns.recordApplied(
    'rc_1',
    9_000,
    1,
    { ...original, decisionId: CORRECTION, value: 'deny', effectiveAt: 9_000, recordedAt: 9_000, supersedes: CORRECTED },
    { at: 9_000, actor: 'alice', action: 'correction.applied', campaignId: 'bf_1', details: { idempotencyKey: 'rc_1', decisionId: CORRECTED } },
  );
  await store.idle();
  await store.close();
}, 120_000);

afterAll(async () => {
  for (const database of made) await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
});

let copies = 0;
async function tamperedCopy(sql: string): Promise<string> {
  const copy = `retrial_t_tamper_${suffix}_${++copies}`;
  await admin((client) => client.query(`CREATE DATABASE ${copy} TEMPLATE ${pristine}`));
  made.push(copy);
  await admin((client) => client.query(sql), copy);
  return urlOf(copy);
}

type Found = VerifyProblem & { runId: string | null };

async function verifyUrl(url: string): Promise<Found[]> {
  const store = await openStore(url, { readonly: true });
  try {
    const found: Found[] = [];
    for await (const verification of verifyStore(store)) for (const problem of verification.problems) found.push({ ...problem, runId: verification.runId });
    found.push(...(await verifyLedger(store)).problems);
    return found;
  } finally {
    await store.close();
  }
}

const pick = (problem: Found) => ({ code: problem.code, runId: problem.runId, decisionId: problem.decisionId, field: problem.field });

it('an untouched store verifies clean, its correction included, every run packed', async () => {
  expect(await verifyUrl(urlOf(pristine))).toEqual([]);
  const packed = await admin((client) => client.query('SELECT count(*)::int AS count FROM runs WHERE packed'), pristine);
  expect(packed.rows[0].count).toBe(3);
});

it.each<[string, string, Array<Partial<ReturnType<typeof pick>>>]>([
  [
    'value',
    "UPDATE decisions SET value = 'deny' WHERE decision_id = 'run-b:5'",
    [{ code: 'LEDGER_MISMATCH', runId: 'run-b', decisionId: 'run-b:5', field: 'value' }],
  ],
  ['amount', "UPDATE decisions SET amount = 99.99 WHERE decision_id = 'run-b:6'", [{ code: 'LEDGER_MISMATCH', decisionId: 'run-b:6', field: 'amount' }]],
  ['reversible', "UPDATE decisions SET reversible = NOT reversible WHERE decision_id = 'run-b:5'", [{ code: 'LEDGER_MISMATCH', field: 'reversible' }]],
  ['a row removed', "DELETE FROM decisions WHERE decision_id = 'run-b:6'", [{ code: 'LEDGER_ROW_MISSING', runId: 'run-b', decisionId: 'run-b:6' }]],
  ['status', "UPDATE runs SET status = 'failed' WHERE run_id = 'run-b'", [{ code: 'RUN_ROW_MISMATCH', runId: 'run-b', field: 'status' }]],
  [
    'models served',
    "UPDATE runs SET models_served = '{gpt-evil}' WHERE run_id = 'run-b'",
    [{ code: 'RUN_ROW_MISMATCH', runId: 'run-b', field: 'modelsServed' }],
  ],
  [
    "a correction's value",
    `UPDATE decisions SET value = 'approve' WHERE decision_id = '${CORRECTION}'`,
    [{ code: 'CORRECTION_MISMATCH', runId: 'run-a', decisionId: CORRECTION, field: 'value' }],
  ],
  [
    'the audit entry that vouches for a correction',
    `UPDATE audit_log SET details_json = replace(details_json, '"deny"', '"approve"')`,
    [
      { code: 'AUDIT_CHAIN_BROKEN', runId: null },
      { code: 'CORRECTION_MISMATCH', decisionId: CORRECTION, field: 'value' },
    ],
  ],
])('%s: verify names the row and the field', async (_what, sql, expected) => {
  const found = (await verifyUrl(await tamperedCopy(sql))).map(pick);
  expect(found).toHaveLength(expected.length);
  for (const problem of expected) expect(found).toContainEqual(expect.objectContaining(problem));
});

it("a changed byte in a finished run's pack is that run's problem; the other runs still verify", async () => {
  const url = await tamperedCopy("UPDATE run_packs SET data = set_byte(data, length(data) / 2, get_byte(data, length(data) / 2) # 32) WHERE run_id = 'run-c'");
  const found = await verifyUrl(url);
  expect(found.length).toBeGreaterThan(0);
  expect(new Set(found.map((problem) => problem.runId))).toEqual(new Set(['run-c']));
});
