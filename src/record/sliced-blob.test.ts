import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBlob, decodeBlobText } from '../tape/index.ts';
import { createRedactor } from './redaction.ts';
import { prepareReceivedBlobs } from './sliced-blob.ts';
import { snapshotValue } from './value-snapshot.ts';

/** What the recorder stores for a received value when it builds the blobs in one go. */
function expected(value: unknown): { hash: string; json: string; text: { hash: string; json: string } | undefined } {
  const blob = createBlob(value);
  const text = typeof value === 'string' ? undefined : JSON.stringify(value);
  return { ...blob, text: text === undefined || text === blob.json ? undefined : createBlob(text) };
}

async function sliced(value: unknown) {
  const snapshot = await snapshotValue(value);
  if (!snapshot.ok) throw new Error(snapshot.reason);
  const { value: blob, text } = await prepareReceivedBlobs(snapshot.value, snapshot.keysInOrder);
  return { hash: blob.hash, json: decodeBlobText(blob), text: text && { hash: text.hash, json: decodeBlobText(text) } };
}

describe('blobs of large values made in slices', () => {
  it('are byte for byte the blobs createBlob makes, key-order text included (generated JSON values)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        expect(await sliced(value)).toEqual(expected(value));
      }),
      { numRuns: 300 },
    );
  });

  it('split long strings without breaking a surrogate pair, and escape lone halves as JSON.stringify does', async () => {
    const pair = '\u{1F600}';
    const long = `${'a'.repeat(256 * 1024 - 1)}${pair}${'b'.repeat(300_000)}\uD800 "quoted" \\ \n`;
    const value = { zeta: long, alpha: [long.slice(3), { b: 1, a: -0.5e-7 }] };
    expect(await sliced(value)).toEqual(expected(value));
  });

  it('write long texts redacted in pieces as the blob of the whole redacted value (keys out of order, emoji, a private key)', async () => {
    const redactor = createRedactor({ salt: 'pepper', rules: [{ name: 'email', pattern: /[a-z0-9.]+@[a-z]+\.com/ }] });
    const lines: string[] = [];
    for (let index = 0; index < 12_000; index++)
      lines.push(`line ${index} \u{1F600} GET https://api.test/o/${index}?access_token=t${index} "for" c${index}@example.com\n`);
    lines.splice(9_000, 0, '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n');
    const log = lines.join('');
    const value = { zeta: log, alpha: [log.slice(7), 'short'], plain: '- '.repeat(150_000) };
    const snapshot = await snapshotValue(value);
    if (!snapshot.ok) throw new Error(snapshot.reason);
    const redacted = await redactor.ownedValueInSlices(snapshot.value);
    const { value: blob, text } = await prepareReceivedBlobs(redacted, snapshot.keysInOrder);
    const whole = redactor.value(value);
    expect(whole.zeta).not.toBe(log);
    expect({ hash: blob.hash, json: decodeBlobText(blob), text: text && { hash: text.hash, json: decodeBlobText(text) } }).toEqual(expected(whole));
  });
});
