import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';
import { TapeFormatError } from './errors.ts';
import { chainNext } from './hash-chain.ts';
import { readPortableTape } from './portable-tape.ts';
import { sealRun } from './seal.ts';

const golden = readFileSync(new URL('../../test/fixtures/golden/support-agent-incident.v1.tape.jsonl', import.meta.url), 'utf8');
const lines = () =>
  golden
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const write = (values: Array<Record<string, unknown>>) => `${values.map((value) => canonicalJson(value)).join('\n')}\n`;

describe('portable tape: format versions', () => {
  it('reads a tape of this major version', () => {
    expect(readPortableTape(golden).events.length).toBe(22);
  });

  it('refuses an unknown major version with a sentence that says what to do', () => {
    const edited = lines();
    (edited[0] as Record<string, unknown>).formatVersion = 2;
    expect(() => readPortableTape(write(edited))).toThrow(/tape format 2 is newer than this retrial understands \(1\); upgrade retrial/);
  });

  it('accepts event kinds and line types it does not know, still covered by the hash chain', () => {
    const edited = lines();
    const run = edited[0] as Record<string, unknown>;
    const events = edited.filter((line) => line.type === 'event');
    const newer = { kind: 'embedding', key: 'embedding:search#0', seq: events.length, at: 0, durationMs: 0, futureField: true };
    const hash = chainNext(run.headHash as string, canonicalJson(newer));
    const ending = run.ending as Parameters<typeof sealRun>[1];
    const updated = { ...run, headHash: hash, eventCount: events.length + 1, sealHash: sealRun(hash, ending) };
    const rest = edited.filter((line) => line.type !== 'run' && line.type !== 'event');
    const text = write([updated, ...events, { type: 'event', hash, event: newer }, { type: 'index', note: 'a newer minor version' }, ...rest]);
    expect(readPortableTape(text).events.at(-1)?.kind).toBe('embedding');
  });

  it('names the line of a malformed tape', () => {
    const broken = golden.split('\n');
    broken[2] = '{"type":"event",';
    const error = (() => {
      try {
        readPortableTape(broken.join('\n'));
      } catch (caught) {
        return caught;
      }
    })();
    expect(TapeFormatError.isInstance(error)).toBe(true);
    expect((error as TapeFormatError).line).toBe(3);
  });
});
