/**
 * A value frozen as JSON at the moment the agent hands it over or receives it, so what the agent
 * does to the object later (a tool result it annotates, arguments a tool mutates) cannot reach
 * the tape, which is written later. JSON.parse keeps the key order the agent saw.
 *
 * JSON.stringify would quietly write NaN as null and drop a function; the tape must not hold
 * something other than what the agent got. So a value canonical JSON refuses (a non-finite
 * number, a function, a symbol, undefined in an array, a bigint, a cycle) is kept as it is, and
 * fails where it is canonicalised, with canonicalJson's message, as it always did.
 */
export function jsonSnapshot(value: unknown): unknown {
  try {
    const text = JSON.stringify(value ?? null, refuseWhatCanonicalJsonRefuses);
    return text === undefined ? null : JSON.parse(text);
  } catch {
    return value;
  }
}

function refuseWhatCanonicalJsonRefuses(this: unknown, _key: string, member: unknown): unknown {
  const refused =
    typeof member === 'function' ||
    typeof member === 'symbol' ||
    (typeof member === 'number' && !Number.isFinite(member)) ||
    (member === undefined && Array.isArray(this));
  if (refused) throw new TypeError('no JSON form');
  return member;
}
