import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_GENESIS_HASH,
  auditEntryHash,
  createMemoryStore,
  type DecisionRecord,
  exportRun,
  importRun,
  openSqliteStore,
  openStore,
  type VerifyProblem,
  verifyLedger,
  verifyStore,
} from '../../src/store/index.ts';
import { canonicalJson, TapeFormatError } from '../../src/tape/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { writeRun } from './store-backends.ts';
import { buildRun } from './tape-builder.ts';

/**
 * Everything backfill and remediation act on is under a hash: a change to a ledger row, a run's
 * row or a correction, made with plain SQL on the file or by editing an exported tape, is found by
 * `verify` or refused by `import`, named with its run, decision and field.
 */

const directory = mkdtempSync(join(tmpdir(), 'retrial-ledger-tamper-'));
// Readable by the unprivileged user the read-only checks run the CLI as.
chmodSync(directory, 0o755);
const pristine = join(directory, 'pristine.db');
/** run-a's decision, corrected by an applied correction; run-b's two decisions; run-c without any. */
const CORRECTED = 'run-a:5';
const CORRECTION = `${CORRECTED}/rc_1`;

beforeAll(async () => {
  const store = await openSqliteStore(pristine);
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
  await store.close();
});

afterAll(() => {
  chmodAll(directory, 0o755);
  rmSync(directory, { recursive: true, force: true });
});

function chmodAll(path: string, mode: number): void {
  chmodSync(path, mode);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chmodAll(join(path, name), mode);
}

let copies = 0;
/** A copy of the pristine store with `sql` applied through a plain SQLite connection. */
function tamperedCopy(sql: string): string {
  const path = join(directory, `copy-${++copies}.db`);
  copyFileSync(pristine, path);
  const database = new Database(path);
  database.exec(sql);
  database.close();
  return path;
}

type Found = VerifyProblem & { runId: string | null };

/** Everything verify finds in a store, opened read-only as `retrial verify` opens it. */
async function verifyFile(path: string): Promise<Found[]> {
  const store = await openStore(path, { readonly: true });
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

describe('tampering with the SQLite file', () => {
  it('an untouched store verifies clean, its correction included', async () => {
    expect(await verifyFile(pristine)).toEqual([]);
  });

  it.each<[string, string, Array<Partial<ReturnType<typeof pick>>>]>([
    [
      'value',
      "UPDATE decisions SET value = 'deny' WHERE decision_id = 'run-b:5'",
      [{ code: 'LEDGER_MISMATCH', runId: 'run-b', decisionId: 'run-b:5', field: 'value' }],
    ],
    ['amount', "UPDATE decisions SET amount = 99.99 WHERE decision_id = 'run-b:6'", [{ code: 'LEDGER_MISMATCH', decisionId: 'run-b:6', field: 'amount' }]],
    [
      'subject',
      "UPDATE decisions SET subject = 'C-ATTACKER' WHERE decision_id = 'run-b:5'",
      [{ code: 'LEDGER_MISMATCH', decisionId: 'run-b:5', field: 'subject' }],
    ],
    [
      'currency',
      "UPDATE decisions SET currency = 'EUR' WHERE decision_id = 'run-b:5'",
      [{ code: 'LEDGER_MISMATCH', decisionId: 'run-b:5', field: 'currency' }],
    ],
    [
      'reversible',
      "UPDATE decisions SET reversible = 0 WHERE decision_id = 'run-b:5'",
      [{ code: 'LEDGER_MISMATCH', decisionId: 'run-b:5', field: 'reversible' }],
    ],
    [
      'attributes',
      `UPDATE decisions SET attributes_json = '{"plan":"enterprise"}' WHERE decision_id = 'run-b:5'`,
      [{ code: 'LEDGER_MISMATCH', decisionId: 'run-b:5', field: 'attributes' }],
    ],
    ['type', "UPDATE decisions SET type = 'account.action' WHERE decision_id = 'run-b:6'", [{ code: 'LEDGER_MISMATCH', decisionId: 'run-b:6', field: 'type' }]],
    ['effective time', "UPDATE decisions SET effective_at = 0 WHERE decision_id = 'run-b:6'", [{ code: 'LEDGER_MISMATCH', field: 'effectiveAt' }]],
    ['model served', "UPDATE decisions SET model_served = 'gpt-other' WHERE decision_id = 'run-b:6'", [{ code: 'LEDGER_MISMATCH', field: 'modelServed' }]],
    ['a row removed', "DELETE FROM decisions WHERE decision_id = 'run-b:6'", [{ code: 'LEDGER_ROW_MISSING', runId: 'run-b', decisionId: 'run-b:6' }]],
    [
      'a row moved to a run the store lacks',
      "UPDATE decisions SET run_id = 'run-z' WHERE decision_id = 'run-b:6'",
      [
        { code: 'LEDGER_ROW_MISSING', runId: 'run-b', decisionId: 'run-b:6' },
        { code: 'LEDGER_ROW_UNVOUCHED', runId: 'run-z', decisionId: 'run-b:6' },
      ],
    ],
    [
      'a row added',
      "INSERT INTO decisions (decision_id, run_id, seq, agent, type, subject, value, amount, currency, reversible, effective_at, recorded_at, model_served, attributes_json, supersedes) SELECT 'run-c:9', 'run-c', 9, agent, type, subject, value, amount, currency, reversible, effective_at, recorded_at, model_served, attributes_json, NULL FROM decisions WHERE decision_id = 'run-b:5'",
      [{ code: 'LEDGER_ROW_UNVOUCHED', runId: 'run-c', decisionId: 'run-c:9' }],
    ],
    ['status', "UPDATE runs SET status = 'failed' WHERE run_id = 'run-b'", [{ code: 'RUN_ROW_MISMATCH', runId: 'run-b', field: 'status' }]],
    [
      'status of a run never ended',
      "UPDATE runs SET status = 'complete', ending_json = NULL, seal_hash = NULL WHERE run_id = 'run-c'",
      [{ code: 'RUN_ROW_MISMATCH', runId: 'run-c', field: 'status' }],
    ],
    [
      'models served',
      `UPDATE runs SET models_served = '["gpt-evil"]' WHERE run_id = 'run-b'`,
      [{ code: 'RUN_ROW_MISMATCH', runId: 'run-b', field: 'modelsServed' }],
    ],
    ['event count', "UPDATE runs SET event_count = 3 WHERE run_id = 'run-c'", [{ code: 'RUN_ROW_MISMATCH', runId: 'run-c', field: 'eventCount' }]],
    [
      'a correction forged',
      `INSERT INTO decisions (decision_id, run_id, seq, agent, type, subject, value, amount, currency, reversible, effective_at, recorded_at, model_served, attributes_json, supersedes) SELECT 'run-b:5/forged', run_id, seq, agent, type, subject, 'deny', amount, currency, reversible, effective_at, recorded_at, model_served, attributes_json, 'run-b:5' FROM decisions WHERE decision_id = 'run-b:5'`,
      [{ code: 'CORRECTION_UNVOUCHED', runId: 'run-b', decisionId: 'run-b:5/forged', field: 'supersedes' }],
    ],
    [
      "a correction's value",
      `UPDATE decisions SET value = 'approve' WHERE decision_id = '${CORRECTION}'`,
      [{ code: 'CORRECTION_MISMATCH', runId: 'run-a', decisionId: CORRECTION, field: 'value' }],
    ],
    [
      "a correction's amount",
      `UPDATE decisions SET amount = 1000 WHERE decision_id = '${CORRECTION}'`,
      [{ code: 'CORRECTION_MISMATCH', decisionId: CORRECTION, field: 'amount' }],
    ],
    [
      'what a correction supersedes',
      `UPDATE decisions SET supersedes = 'run-b:5' WHERE decision_id = '${CORRECTION}'`,
      [{ code: 'CORRECTION_MISMATCH', decisionId: CORRECTION, field: 'supersedes' }],
    ],
    [
      'a correction removed',
      `DELETE FROM decisions WHERE decision_id = '${CORRECTION}'`,
      [{ code: 'CORRECTION_MISSING', runId: 'run-a', decisionId: CORRECTION }],
    ],
    [
      'the audit entry that vouches for a correction',
      'UPDATE audit_log SET details_json = replace(details_json, \'"deny"\', \'"approve"\')',
      [
        { code: 'AUDIT_CHAIN_BROKEN', runId: null },
        { code: 'CORRECTION_MISMATCH', decisionId: CORRECTION, field: 'value' },
      ],
    ],
  ])('%s: verify names the row and the field', async (_what, sql, expected) => {
    const found = (await verifyFile(tamperedCopy(sql))).map(pick);
    expect(found).toHaveLength(expected.length);
    for (const problem of expected) expect(found).toContainEqual(expect.objectContaining(problem));
  });

  it('the reviewer’s UPDATE: `retrial verify` fails, naming the run, the decision and both fields', async () => {
    const path = tamperedCopy("UPDATE decisions SET subject = 'C-ATTACKER', amount = 99.99 WHERE decision_id = 'run-b:5'");
    const result = await runCli(['verify', '--db', path]);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toContain('FAIL run-b event 5 decision run-b:5 field subject: LEDGER_MISMATCH: decision run-b:5: subject is "C-ATTACKER"');
    expect(result.stdout).toContain('FAIL run-b event 5 decision run-b:5 field amount: LEDGER_MISMATCH');
    expect(result.stdout).toMatch(/^FAILED: 3 runs, .* 1 runs with problems, 2 ledger problems\.$/m);
  }, 60_000);

  it('a header or an ending that is no longer JSON is its run’s problem; the other runs are still checked', async () => {
    const path = tamperedCopy(
      "UPDATE runs SET header_json = '{\"formatVersion\":1,' WHERE run_id = 'run-a'; UPDATE runs SET ending_json = 'not json' WHERE run_id = 'run-c'; UPDATE decisions SET value = 'deny' WHERE decision_id = 'run-b:5';",
    );
    const result = await runCli(['verify', '--db', path, '--json']);
    expect(result.status, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { runs: number; failed: number; problems: Found[] };
    expect(report.runs).toBe(3);
    expect(report.failed).toBe(3);
    expect(report.problems.map(pick)).toEqual(
      expect.arrayContaining([
        { code: 'RUN_UNREADABLE', runId: 'run-a', decisionId: undefined, field: undefined },
        { code: 'RUN_UNREADABLE', runId: 'run-c', decisionId: undefined, field: undefined },
        { code: 'LEDGER_MISMATCH', runId: 'run-b', decisionId: 'run-b:5', field: 'value' },
      ]),
    );
    expect(report.problems.find((problem) => problem.runId === 'run-a')?.message).toMatch(/header \(runs\.header_json\) is not valid JSON/);
  }, 60_000);
});

describe('corrections applied before their audit entries carried the row', () => {
  /**
   * A store as an earlier release left it: the correction's audit entry names the decision, key,
   * new value and amount, not the row; the chain over the entries is intact. Its other fields are
   * checked against the decision it supersedes, as remediation derived them.
   */
  async function legacyStore(): Promise<string> {
    const path = join(directory, `legacy-${++copies}.db`);
    const store = await openSqliteStore(path);
    const run = buildRun({ runId: 'run-l', decisions: [{ type: 'refund', subject: 'cust-9', value: 'approve', amount: 30 }] });
    await writeRun(store, run);
    const original = run.decisions[0] as DecisionRecord;
    await store.campaigns.putCorrections([
      {
        idempotencyKey: 'rc_9',
        campaignId: 'bf_9',
        itemId: original.decisionId,
        status: 'pending',
        attempts: 0,
        lastError: null,
        appliedAt: null,
        correction: {},
      },
    ]);
    const at = 12_000;
    await store.campaigns.recordApplied(
      'rc_9',
      at,
      1,
      {
        ...original,
        decisionId: `${original.decisionId}/rc_9`,
        value: 'deny',
        effectiveAt: at,
        recordedAt: at,
        modelServed: 'gpt-next',
        attributes: { ...original.attributes, campaign: 'bf_9', correction: 'rc_9', reason: 'triage: rule all' },
        supersedes: original.decisionId,
      },
      {
        at,
        actor: 'alice',
        action: 'correction.applied',
        campaignId: 'bf_9',
        details: { idempotencyKey: 'rc_9', decisionId: original.decisionId, from: 'approve', to: 'deny', amount: 30 },
      },
    );
    await store.close();
    const database = new Database(path);
    let previous = AUDIT_GENESIS_HASH;
    for (const row of database.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Array<Record<string, unknown>>) {
      const { ledgerRow: _dropped, ...details } = JSON.parse(row.details_json as string) as Record<string, unknown>;
      const entry = {
        seq: row.seq as number,
        at: row.at as number,
        actor: row.actor as string,
        action: row.action as string,
        campaignId: row.campaign_id as string | null,
        details,
        prevHash: previous,
      };
      previous = auditEntryHash(entry);
      database
        .prepare('UPDATE audit_log SET details_json = ?, prev_hash = ?, hash = ? WHERE seq = ?')
        .run(JSON.stringify(details), entry.prevHash, previous, entry.seq);
    }
    database.close();
    return path;
  }

  it('verify vouches for them by what the entry says and what the superseded decision says, and names a changed field', async () => {
    const path = await legacyStore();
    expect(await verifyFile(path)).toEqual([]);
    for (const [sql, field] of [
      ["UPDATE decisions SET value = 'approve' WHERE supersedes IS NOT NULL", 'value'],
      ["UPDATE decisions SET subject = 'C-ATTACKER' WHERE supersedes IS NOT NULL", 'subject'],
      ['UPDATE decisions SET amount = 300 WHERE supersedes IS NOT NULL', 'amount'],
    ] as const) {
      const copy = join(directory, `legacy-copy-${++copies}.db`);
      copyFileSync(path, copy);
      const database = new Database(copy);
      database.exec(sql);
      database.close();
      expect((await verifyFile(copy)).map(pick)).toEqual([{ code: 'CORRECTION_MISMATCH', runId: 'run-l', decisionId: 'run-l:5/rc_9', field }]);
    }
  });
});

describe('verify reads without writing', () => {
  /** A copy with mode 0444 in a directory with mode 0555, as an investigator would be handed. */
  function readOnlyCopy(name: string, source: string): { path: string; folder: string } {
    const folder = join(directory, name);
    mkdirSync(folder);
    const path = join(folder, 'retrial.db');
    copyFileSync(source, path);
    chmodSync(path, 0o444);
    chmodSync(folder, 0o555);
    return { path, folder };
  }
  // Root may write anything whatever the modes say: run the CLI as `nobody` there, so the modes hold.
  const asUnprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

  it('verifies a read-only copy in a read-only directory, and leaves it byte for byte as it was', async () => {
    const { path, folder } = readOnlyCopy('readonly-clean', pristine);
    const before = readFileSync(path);
    const result = await runCli(['verify', '--db', path], { ...asUnprivileged, cwd: tmpdir() });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^OK: 3 runs, .* and 4 ledger rows checked; 0 runs with problems, 0 ledger problems\.$/m);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(folder)).toEqual(['retrial.db']);
  }, 60_000);

  it('finds tampering in a read-only copy too', async () => {
    const { path } = readOnlyCopy('readonly-tampered', tamperedCopy("UPDATE runs SET status = 'failed' WHERE run_id = 'run-b'"));
    const result = await runCli(['verify', '--db', path], { ...asUnprivileged, cwd: tmpdir() });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toContain('FAIL run-b field status: RUN_ROW_MISMATCH');
  }, 60_000);

  it('reads what a write-ahead log holds: a change committed to the log, not yet to the file, is found too', async () => {
    const folder = join(directory, 'readonly-wal');
    mkdirSync(folder);
    const path = join(folder, 'retrial.db');
    copyFileSync(pristine, path);
    // A writer that commits to the log and is gone before a checkpoint folds it into the file.
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec(`UPDATE decisions SET amount = 99.99 WHERE run_id = 'run-b'`);
    const beforeClose = { file: readFileSync(path), log: readFileSync(`${path}-wal`) };
    writer.close();
    // As handed over: the file and its log, read-only, no -shm, in a read-only directory.
    for (const name of readdirSync(folder)) rmSync(join(folder, name));
    writeFileSync(path, beforeClose.file, { mode: 0o444 });
    writeFileSync(`${path}-wal`, beforeClose.log, { mode: 0o444 });
    expect(beforeClose.log.length).toBeGreaterThan(0);
    chmodSync(folder, 0o555);
    const result = await runCli(['verify', '--db', path], { ...asUnprivileged, cwd: tmpdir() });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/FAIL run-b .*field amount: LEDGER_MISMATCH/);
    expect(readdirSync(folder).sort()).toEqual(['retrial.db', 'retrial.db-wal']);
  }, 60_000);

  it('marks no crashed run and migrates nothing: a store that needs a migration is refused with what to do', async () => {
    const old = join(directory, 'schema-4.db');
    copyFileSync(new URL('./__fixtures__/flush-packs-schema-4.sqlite', import.meta.url), old);
    const before = readFileSync(old);
    const result = await runCli(['verify', '--db', old]);
    expect(result.status).toBe(4);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /schema version 4 and needs migrating to \d+ before it can be read without writing to it; open it once with a command that writes/,
    );
    expect(readFileSync(old).equals(before)).toBe(true);

    // A run still `recording` whose writer is gone stays as it is: marking it is for opening to write.
    const crashed = tamperedCopy(
      "UPDATE runs SET status = 'recording', ending_json = NULL, seal_hash = NULL, writer_pid = 999999999, writer_host = 'gone' WHERE run_id = 'run-c'",
    );
    const store = await openStore(crashed, { readonly: true });
    try {
      expect((await store.getRun('run-c'))?.status).toBe('recording');
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe('tampering with an exported tape', () => {
  let tape = '';
  beforeAll(async () => {
    const store = await openSqliteStore(pristine, { readonly: true });
    tape = await exportRun(store, 'run-b');
    await store.close();
  });

  const lines = () => tape.trimEnd().split('\n');
  const lineOf = (decisionId: string) => lines().findIndex((line) => line.includes(`"decisionId":"${decisionId}"`));
  /** The tape with one decision line's fields replaced, written canonically as export writes. */
  const editDecision = (decisionId: string, fields: Record<string, unknown>) => {
    const all = lines();
    const index = lineOf(decisionId);
    const line = JSON.parse(all[index] as string) as { decision: Record<string, unknown> };
    all[index] = canonicalJson({ ...line, decision: { ...line.decision, ...fields } });
    return `${all.join('\n')}\n`;
  };
  const editRunLine = (fields: Record<string, unknown>) => {
    const all = lines();
    all[0] = canonicalJson({ ...JSON.parse(all[0] as string), ...fields });
    return `${all.join('\n')}\n`;
  };

  it('round-trips unchanged: export, import, export give the same bytes', async () => {
    const store = createMemoryStore();
    expect((await importRun(store, tape)).outcome).toBe('imported');
    expect(await exportRun(store, 'run-b')).toBe(tape);
  });

  it.each<[string, string, Record<string, unknown>, RegExp]>([
    ['value', 'run-b:5', { value: 'deny' }, /value is "deny" but its hashed decision event \(seq 5\) says "approve"/],
    ['amount', 'run-b:5', { amount: 99.99 }, /amount is 99\.99/],
    ['subject', 'run-b:6', { subject: 'C-ATTACKER' }, /subject is "C-ATTACKER"/],
    ['currency', 'run-b:6', { currency: 'EUR' }, /currency is "EUR"/],
    ['reversible', 'run-b:6', { reversible: false }, /reversible is false/],
    ['attributes', 'run-b:6', { attributes: { plan: 'enterprise' } }, /attributes is \{"plan":"enterprise"\}/],
    ['model served', 'run-b:6', { modelServed: 'gpt-other' }, /modelServed is "gpt-other"/],
    ['fields (one added)', 'run-b:6', { refundTo: 'IBAN-X' }, /refundTo is "IBAN-X" but .* says \(absent\)/],
    ['supersession', 'run-b:6', { supersedes: 'run-b:5' }, /is a correction of run-b:5: corrections come only from `npx retrial remediate apply`/],
    [
      'run (a correction of another run)',
      'run-b:6',
      { decisionId: 'run-x:5/forged', runId: 'run-x', supersedes: 'run-x:5' },
      /decision run-x:5\/forged belongs to run run-x, not to this run run-b/,
    ],
  ])('a decision line with its %s changed is refused, naming the line', async (_what, decisionId, fields, message) => {
    const store = createMemoryStore();
    const refused = await importRun(store, editDecision(decisionId, fields)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TapeFormatError);
    expect((refused as TapeFormatError).line).toBe(lineOf(decisionId) + 1);
    expect((refused as Error).message).toMatch(message);
    expect(await store.listRunIds()).toEqual([]);
  });

  it.each<[string, () => string, RegExp]>([
    [
      'modelsServed',
      () => editRunLine({ modelsServed: ['gpt-evil'] }),
      /^line 1: modelsServed \["gpt-evil"\] does not match the models served in the hashed model events/,
    ],
    ['status', () => editRunLine({ status: 'failed' }), /^line 1: status "failed" does not agree with the sealed ending \("complete"\)/],
    [
      'a decision line removed',
      () =>
        `${lines()
          .filter((_, index) => index !== lineOf('run-b:6'))
          .join('\n')}\n`,
      /^line 8: decision event 6 has no ledger row/,
    ],
  ])('a tape with %s changed is refused', async (_what, edit, message) => {
    const store = createMemoryStore();
    await expect(importRun(store, edit())).rejects.toThrow(message);
    expect(await store.listRunIds()).toEqual([]);
  });

  it('a row changed in the store is carried by export and refused by import', async () => {
    const path = tamperedCopy("UPDATE decisions SET subject = 'C-ATTACKER' WHERE decision_id = 'run-b:5'");
    const source = await openSqliteStore(path, { readonly: true });
    const text = await exportRun(source, 'run-b');
    await source.close();
    await expect(importRun(createMemoryStore(), text)).rejects.toThrow(/line \d+: decision run-b:5: subject is "C-ATTACKER"/);
  });

  it('a corrected run exports without its correction (the audit log vouches for it, and stays), and imports', async () => {
    const source = await openSqliteStore(pristine, { readonly: true });
    const text = await exportRun(source, 'run-a');
    await source.close();
    expect(text).not.toContain(CORRECTION);
    const target = createMemoryStore();
    await importRun(target, text);
    expect(await exportRun(target, 'run-a')).toBe(text);
  });

  it('`retrial import` of an edited tape exits 5 with one line naming the line and the field', async () => {
    const file = join(directory, 'edited.tape.jsonl');
    writeFileSync(file, editDecision('run-b:5', { amount: 99.99 }));
    const result = await runCli(['import', file, '--db', join(directory, 'import-target.db')]);
    expect(result.status).toBe(5);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/edited\.tape\.jsonl: line \d+: decision run-b:5: amount is 99\.99 but its hashed decision event \(seq 5\) says 40/);
  }, 60_000);
});
