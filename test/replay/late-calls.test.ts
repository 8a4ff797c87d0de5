import { describe, expect, it } from 'vitest';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { createReplayer } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

let clockRead = '';

/** The same agent; `leaveLateCall` makes its handler start a tool call it never waits for. */
function lookupAgent(leaveLateCall?: (call: Promise<string>) => void) {
  return defineAgent<string, string>({
    name: 'lookup-agent',
    codeVersion: 'v1',
    create({ rec }) {
      const lookup = rec.tool('lookup', async (id: string) => ({ id, open: true }), { effect: 'read' });
      return async (input) => {
        const account = await lookup(input);
        leaveLateCall?.(
          new Promise<string>((resolve) => {
            setTimeout(() => {
              try {
                Date.now();
              } catch (error) {
                clockRead = (error as Error).message;
              }
              lookup(input).then(
                () => resolve('served'),
                (error: Error) => resolve(error.message),
              );
            }, 5);
          }),
        );
        return JSON.stringify(account);
      };
    },
  });
}

describe('a replay serves calls only while it runs', () => {
  it('refuses a call the agent left running past its handler, with what happened, and keeps the result', async () => {
    const store = createMemoryStore();
    const rec = createRecorder({ store, agent: 'lookup-agent', redaction: { salt: 's' } });
    await rec.run('A-1', lookupAgent().create({ rec, env: {} }), { runId: 'run_late' });
    await rec.flush();

    let late: Promise<string> | undefined;
    const replayer = createReplayer({ store, agent: lookupAgent((call) => (late = call)) as never, redactionSalt: 's' });
    const result = await replayer.replay('run_late');
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
    expect(await late).toMatch(/the replay of run_late has ended: the agent made a call after its handler returned/);
    // A clock read then is refused too, rather than reported into a result already returned.
    expect(clockRead).toMatch(/the replay of run_late has ended/);

    // The replayer goes on with the next replay as before.
    const again = await replayer.replay('run_late');
    expect(again.ok).toBe(true);
    await late;
  });
});
