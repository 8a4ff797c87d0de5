/**
 * Parses text as JSON, or gives the text back unchanged when it isn't JSON. Tool arguments and
 * tool results travel as strings on the wire; the canonical form holds the parsed value so that
 * key order and whitespace don't make two equal calls look different, while unparsable text
 * (a model that emitted broken JSON) is still kept rather than lost.
 */
export function parseJsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
