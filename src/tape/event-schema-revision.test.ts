import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_REVISION, eventSchemas } from './event.ts';
import { sha256Hex } from './hash.ts';
import { loadZod } from './lazy-schema.ts';

/**
 * Stores skip validating events that passed EVENT_SCHEMA_REVISION when stored, so a schema change
 * without a new revision would let events through that the new schema refuses. This pins the
 * schemas' JSON Schema to the revision: change a schema, and this fails until both are updated.
 */
const FINGERPRINTS: Record<number, string> = {
  1: 'd54a4ed1d6373267ec8506674aac73f949273872b2529b34d149994500c5cb1c',
  /** Retrieval events gain `stubbed`. */
  2: '6551cd6830b47038b664c0d07a4856acc76b100b0e3ece60e8fda70a205b69c1',
  /** Model events' wire record gains `requestBodyHash`. */
  3: 'f663041a79b03cad9818a7a9ef1cb865efdc3fac1be6245ca658feab22f5bcbc',
  /** Model, tool and retrieval events gain `startedAfter`. */
  4: 'e01b697743ca2f4b50850cf08d38db88a7e07a0dec3ea05a29d5374dd4ddfa81',
};

/** Every zod node under `value`: its `type`, and each check's kind. */
function zodNodes(value: unknown, seen = new Set<unknown>(), found = { types: new Set<string>(), checks: new Set<string>() }) {
  if (typeof value !== 'object' || value === null || seen.has(value)) return found;
  seen.add(value);
  const def = (value as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (def) {
    if (typeof def.type === 'string') found.types.add(def.type);
    if (typeof def.check === 'string') found.checks.add(def.check);
  }
  for (const inner of Object.values(def ?? value)) zodNodes(inner, seen, found);
  return found;
}

const z = loadZod();
const schemas = Object.entries(eventSchemas).map(([kind, schema]) => [kind, schema()] as const);

describe('event schema revision', () => {
  it('uses only schema parts the fingerprint sees and that return their input unchanged', () => {
    // A refinement is invisible to z.toJSONSchema, and a default or transform makes validating
    // change the event, which a loader that skips validating would not do. Allow more here only
    // with that in mind.
    const { types, checks } = zodNodes(schemas.map(([, schema]) => schema));
    const allowedTypes = ['object', 'number', 'string', 'optional', 'literal', 'nullable', 'unknown', 'boolean', 'array', 'union', 'enum', 'record'];
    expect([...types].filter((type) => !allowedTypes.includes(type))).toEqual([]);
    expect([...checks].filter((check) => !['number_format', 'greater_than', 'min_length'].includes(check))).toEqual([]);
    expect(
      zodNodes(
        z.object({
          a: z
            .string()
            .refine((text) => text !== '')
            .default('x'),
        }),
      ).types,
    ).toContain('custom');
  });

  it('names the schemas as they are: bump EVENT_SCHEMA_REVISION and add its fingerprint when they change', () => {
    const fingerprint = sha256Hex(JSON.stringify(schemas.map(([kind, schema]) => [kind, z.toJSONSchema(schema)])));
    expect(fingerprint, `the event schemas changed: set EVENT_SCHEMA_REVISION to ${EVENT_SCHEMA_REVISION + 1} and add '${fingerprint}' for it here`).toBe(
      FINGERPRINTS[EVENT_SCHEMA_REVISION],
    );
  });
});
