import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EVENT_SCHEMA_REVISION, eventSchemas } from './event.ts';
import { sha256Hex } from './hash.ts';

/**
 * Stores skip validating events that passed EVENT_SCHEMA_REVISION when stored, so a schema change
 * without a new revision would let events through that the new schema refuses. This pins the
 * schemas' JSON Schema to the revision: change a schema, and this fails until both are updated.
 */
const FINGERPRINTS: Record<number, string> = {
  1: 'd54a4ed1d6373267ec8506674aac73f949273872b2529b34d149994500c5cb1c',
};

describe('event schema revision', () => {
  it('names the schemas as they are: bump EVENT_SCHEMA_REVISION and add its fingerprint when they change', () => {
    const fingerprint = sha256Hex(JSON.stringify(Object.entries(eventSchemas).map(([kind, schema]) => [kind, z.toJSONSchema(schema)])));
    expect(fingerprint, `the event schemas changed: set EVENT_SCHEMA_REVISION to ${EVENT_SCHEMA_REVISION + 1} and add '${fingerprint}' for it here`).toBe(
      FINGERPRINTS[EVENT_SCHEMA_REVISION],
    );
  });
});
