import { describe, expect, it } from 'vitest';
import { renderWireBody } from '../tape/index.ts';
import type { BlobCollector } from './run-tape-writer.ts';
import { createWireBody } from './wire-body-template.ts';

/** A collector that keeps parts in memory: string parts by a counter, lists as arrays. */
function memoryBlobs() {
  const parts = new Map<string, unknown>();
  const blobs = {
    put(value: unknown) {
      const ref = `b${parts.size}`;
      parts.set(ref, value);
      return ref;
    },
    putList(_family: string, refs: readonly string[]) {
      const ref = `l${parts.size}`;
      parts.set(ref, [...refs]);
      return ref;
    },
  } as unknown as BlobCollector;
  const render = (body: ReturnType<typeof createWireBody>) =>
    renderWireBody(
      body,
      (ref) => parts.get(ref) as string,
      (ref) => parts.get(ref) as string[],
    );
  return { blobs, parts, render };
}

describe('createWireBody', () => {
  it('lifts each Responses input item and the instructions into parts of their own, giving back the exact bytes', () => {
    const body = {
      model: 'gpt-5',
      instructions: 'You help customers.',
      input: [
        { role: 'user', content: 'hi' },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{}' },
      ],
      stream: true,
    };
    const text = JSON.stringify(body);
    const { blobs, parts, render } = memoryBlobs();
    const wire = createWireBody(text, body, blobs);
    expect(wire.kind).toBe('json-template');
    expect(render(wire)).toBe(text);
    const stored = [...parts.values()];
    expect(stored).toContain(JSON.stringify(body.input[1]));
    expect(stored).toContain('"You help customers."');
    // The template holds neither: a growing conversation stores only its new items.
    const template = wire.kind === 'json-template' ? (parts.get(wire.template) as string) : '';
    expect(template).not.toContain('call_1');
    expect(template).not.toContain('You help customers.');
  });

  it('keeps a string input in the template and still lifts chat messages and system first', () => {
    const responses = { model: 'gpt-5', input: 'hi' };
    expect(createWireBody(JSON.stringify(responses), responses, memoryBlobs().blobs)).toEqual({ kind: 'text', text: JSON.stringify(responses) });
    const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }], input: [1] };
    const { blobs, parts, render } = memoryBlobs();
    const wire = createWireBody(JSON.stringify(chat), chat, blobs);
    expect(render(wire)).toBe(JSON.stringify(chat));
    expect([...parts.values()]).toContain(JSON.stringify(chat.messages[0]));
  });
});
