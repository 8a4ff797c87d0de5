import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRecorder,
  defaultRedactionSalt,
  defineAgent,
  loadOrCreateRedactionSalt,
  loadRedactionSalt,
  recordAgent,
  redactionSaltPath,
} from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, openStore, type Store } from '../../src/store/index.ts';
import { RetrialError } from '../../src/tape/index.ts';

const EMAIL = { name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g };

/**
 * Looks the customer up by the message text and answers with it and the support address. The input
 * reaches a replay already redacted; the support address comes from the code, so a replay redacts
 * it anew, with the salt it was given.
 */
const echoAgent = defineAgent<{ message: string }, { reply: string }>({
  name: 'salt-echo',
  codeVersion: '1',
  piiRules: [EMAIL],
  create({ rec }) {
    const lookup = rec.tool('lookup', async (text: string) => ({ seen: text }), { effect: 'read' });
    return async (input) => ({ reply: `${(await lookup(input.message)).seen} (write to help@support.example)` });
  },
});

let directory: string;
const savedSalt = process.env.RETRIAL_REDACTION_SALT;
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'retrial-salt-'));
  delete process.env.RETRIAL_REDACTION_SALT;
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
  if (savedSalt !== undefined) process.env.RETRIAL_REDACTION_SALT = savedSalt;
});

describe('the redaction salt', () => {
  it('given as undefined or empty (an unset variable) is a RetrialError from createRecorder, not an exception in the agent', () => {
    const store = createMemoryStore();
    for (const salt of [undefined, '']) {
      let thrown: unknown;
      try {
        createRecorder({ store, agent: 'a', redaction: { salt, rules: [EMAIL] } });
      } catch (error) {
        thrown = error;
      }
      expect(RetrialError.isInstance(thrown)).toBe(true);
      expect((thrown as RetrialError).code).toBe('USAGE');
      expect((thrown as Error).message).toMatch(/^createRecorder: redaction\.salt is (undefined|empty);.*RETRIAL_REDACTION_SALT/);
    }
    // recordAgent passes an explicit undefined on, and fails the same way before create() runs.
    return expect(recordAgent(echoAgent, { store, redactionSalt: undefined })).rejects.toThrow(/redaction\.salt is undefined/);
  });

  it('left out with an embedded store: created beside the database (mode 0600), reused, and what replay reads', async () => {
    const database = join(directory, 'service', 'retrial.db');
    const store = await openStore(database);
    const recording = await recordAgent(echoAgent, { store });
    const saltFile = redactionSaltPath(database);
    expect(saltFile).toBe(join(directory, 'service', 'redaction-salt'));
    const salt = readFileSync(saltFile, 'utf8').trim();
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(saltFile).mode & 0o777).toBe(0o600);
    // A second recorder (the service restarted) keeps the same salt.
    createRecorder({ store, agent: 'again' });
    expect(readFileSync(saltFile, 'utf8').trim()).toBe(salt);
    expect(defaultRedactionSalt(store)).toBe(salt);

    const { output, runId } = await recording.handle({ message: 'my mail is maria@example.com' });
    await recording.flush();
    expect(output.reply).toBe('my mail is maria@example.com (write to help@support.example)');
    const stored = JSON.stringify(await store.getEvents(runId));
    expect(stored).not.toContain('maria@example.com');

    // Replay finds the salt where the recorder put it, and needs exactly that salt.
    const replayed = await replayRun({ store, runId, agent: echoAgent as never, redactionSalt: loadRedactionSalt(database) });
    expect(replayed.divergences).toEqual([]);
    const otherSalt = await replayRun({ store, runId, agent: echoAgent as never, redactionSalt: 'another-salt' });
    expect(otherSalt.divergences.map((divergence) => divergence.code)).toEqual(['OUTPUT_MISMATCH']);
    await store.close();
  });

  it('RETRIAL_REDACTION_SALT wins over the file; a memory store without one gets a random salt per recorder', async () => {
    const store = await openStore(join(directory, 'env', 'retrial.db'));
    expect(defaultRedactionSalt(store, { RETRIAL_REDACTION_SALT: 'from-env' })).toBe('from-env');
    expect(loadRedactionSalt(join(directory, 'env', 'retrial.db'), { RETRIAL_REDACTION_SALT: 'from-env' })).toBe('from-env');
    await store.close();
    const memory = createMemoryStore();
    expect(defaultRedactionSalt(memory)).not.toBe(defaultRedactionSalt(memory));
  });

  it('a recorder on a PostgreSQL store without RETRIAL_REDACTION_SALT is refused: a salt per process would split the fleet', () => {
    // Only the location decides; no server is needed for this check.
    const networked = { ...createMemoryStore(), location: 'postgres://retrial@db.internal:5432/retrial' } as Store;
    expect(() => defaultRedactionSalt(networked, {})).toThrow(/PostgreSQL store keeps no redaction salt file: set RETRIAL_REDACTION_SALT/);
    expect(defaultRedactionSalt(networked, { RETRIAL_REDACTION_SALT: 'fleet' })).toBe('fleet');
  });

  it('a salt file that cannot be created is a RetrialError naming the file and the variable', () => {
    const notADirectory = join(directory, 'plain-file');
    writeFileSync(notADirectory, '');
    let thrown: unknown;
    try {
      loadOrCreateRedactionSalt(join(notADirectory, 'retrial.db'));
    } catch (error) {
      thrown = error;
    }
    expect((thrown as RetrialError).code).toBe('STORE');
    expect((thrown as Error).message).toMatch(/^Could not create the redaction salt file .*plain-file\/redaction-salt: .*set RETRIAL_REDACTION_SALT\.$/);
  });

  it('replay without a salt names the file the recorder writes', () => {
    const database = join(directory, 'laptop', 'retrial.db');
    expect(() => loadRedactionSalt(database)).toThrow(
      `No redaction salt at ${join(directory, 'laptop', 'redaction-salt')}. Replay needs the salt the runs were recorded with: copy the redaction-salt file`,
    );
  });
});
