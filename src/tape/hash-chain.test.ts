import { describe, expect, it } from 'vitest';
import { createBlob, encodeBlob, verifyBlob } from './blob.ts';
import { chainNext, chainRoot, verifyHashChain } from './hash-chain.ts';
import type { RunHeader } from './header.ts';

const header: RunHeader = {
  formatVersion: 1,
  runId: 'run_a',
  agent: 'agent',
  codeVersion: 'v1',
  recordedAt: '2026-01-01T00:00:00.000Z',
  wallClockAt: '2026-01-01T00:00:00.000Z',
  timeZone: 'UTC',
  seed: '00',
  recorderFlags: [1],
  externalIds: {},
  recorder: 'test',
};

function chain(jsons: string[]) {
  let previous = chainRoot(header);
  return jsons.map((json, seq) => {
    previous = chainNext(previous, json);
    return { seq, json, hash: previous };
  });
}

describe('hash chain', () => {
  const events = chain(['{"kind":"input","seq":0}', '{"kind":"note","seq":1}', '{"kind":"note","seq":2}']);
  const head = events.at(-1)?.hash ?? '';

  it('accepts an untouched chain', () => {
    expect(verifyHashChain(chainRoot(header), events, head)).toEqual([]);
  });

  it('names the event whose bytes changed', () => {
    const changed = events.map((event) => (event.seq === 1 ? { ...event, json: event.json.replace('note', 'nott') } : event));
    expect(verifyHashChain(chainRoot(header), changed, head)).toEqual([expect.objectContaining({ code: 'EVENT_HASH_MISMATCH', seq: 1 })]);
  });

  it('notices a removed tail through the head', () => {
    expect(verifyHashChain(chainRoot(header), events.slice(0, 2), head)).toEqual([expect.objectContaining({ code: 'HEAD_MISMATCH' })]);
  });

  it('notices a gap', () => {
    expect(verifyHashChain(chainRoot(header), [events[0], events[2]] as typeof events, head)[0]?.code).toBe('SEQ_GAP');
  });

  it('roots differ when any header field differs', () => {
    expect(chainRoot({ ...header, seed: '01' })).not.toBe(chainRoot(header));
  });
});

describe('blobs', () => {
  it('compress large content and still verify; a flipped byte is caught', () => {
    const { hash, json } = createBlob({ text: 'policy '.repeat(500) });
    const stored = encodeBlob(hash, json);
    expect(stored.encoding).toBe('json+deflate');
    expect(stored.data.length).toBeLessThan(json.length / 10);
    expect(verifyBlob(stored)).toEqual({ ok: true });
    const flipped = Buffer.from(stored.data);
    const middle = Math.floor(flipped.length / 2);
    flipped[middle] = (flipped[middle] as number) ^ 0x01;
    expect(verifyBlob({ ...stored, data: flipped }).ok).toBe(false);
  });

  it('keep small content as plain JSON', () => {
    const { hash, json } = createBlob({ a: 1 });
    expect(encodeBlob(hash, json).encoding).toBe('json');
  });
});
