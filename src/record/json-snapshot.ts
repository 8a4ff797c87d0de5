/**
 * A value frozen as JSON at the moment the agent hands it over or receives it, so what the agent
 * does to the object later (a tool result it annotates, arguments a tool mutates) cannot reach
 * the tape, which is written later. JSON.parse keeps the key order the agent saw. A value JSON
 * cannot write (a cycle, a bigint) is kept as it is and fails where it is canonicalised, as before.
 */
export function jsonSnapshot(value: unknown): unknown {
  try {
    const text = JSON.stringify(value ?? null);
    return text === undefined ? null : JSON.parse(text);
  } catch {
    return value;
  }
}
