import { describe, expect, it } from 'vitest';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { createReplayer } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

/** What the clock and random sources gave a timer the agent left running past its handler. */
let lateReads: unknown;

/** The same agent; `leaveLateCall` makes its handler start a tool call it never waits for. */
function lookupAgent(leaveLateCall?: (call: Promise<string>) => void) {
  return defineAgent<string, string>({
    name: 'lookup-agent',
    codeVersion: 'v1',
    create({ rec }) {
      const lookup = rec.tool('lookup', async (id: string) => ({ id, open: true }), { effect: 'read' });
      const jitter = rec.random('jitter');
      return async (input) => {
        const account = await lookup(input);
        leaveLateCall?.(
          new Promise<string>((resolve) => {
            setTimeout(() => {
              try {
                lateReads = { now: Date.now(), date: new Date().toISOString(), uuid: crypto.randomUUID(), draw: Math.random(), jitter: jitter() };
              } catch (error) {
                lateReads = error;
              }
              // A request that bypasses rec.fetch is refused then as during the replay.
              fetch('http://127.0.0.1:9/late').catch(() => undefined);
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
    // Clock and random reads then do not throw inside the timer (which would end the process, and
    // a whole `replay --all` with it): the run clock as it last stood, and stand-ins of the right shape.
    expect(lateReads).toEqual({
      now: expect.any(Number),
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-/),
      draw: expect.any(Number),
      jitter: expect.any(Number),
    });
    const { now, draw, jitter } = lateReads as { now: number; draw: number; jitter: number };
    expect(Number.isFinite(now) && draw >= 0 && draw < 1 && jitter >= 0 && jitter < 1).toBe(true);

    // The replayer goes on with the next replay as before, lenient or not.
    const lenient = createReplayer({ store, agent: lookupAgent((call) => (late = call)) as never, redactionSalt: 's', lenient: true });
    lateReads = undefined;
    const lenientResult = await lenient.replay('run_late');
    expect(lenientResult.ok).toBe(true);
    expect(await late).toMatch(/has ended/);
    expect(lateReads).toMatchObject({ uuid: expect.any(String) });
    // Nothing found after the result was returned is added to it.
    expect(lenientResult.divergences).toEqual([]);
  });

  it('fills in the diff of a divergence whose call was still reading the tape when the replay ended', async () => {
    const simulator = await startSimulatorServer({ port: 0, seed: 'late-calls' });
    const racing = (changed: boolean) =>
      defineAgent<string, string>({
        name: 'racing-agent',
        codeVersion: 'v1',
        create({ rec, env }) {
          const a = rec.tool('a', async (x: string) => x, { effect: 'read' });
          const b = rec.tool('b', async (x: string) => x, { effect: 'read' });
          return async (input) => {
            const body = JSON.stringify({ model: 'support-sim', messages: [{ role: 'user', content: changed ? `${input}!` : input }] });
            const [text] = await Promise.all([
              rec
                .fetch(`${env.BASE_URL}/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
                .then((response) => response.text()),
              // The tool's name mismatch ends a strict replay while the model call reads its diff.
              changed ? b(input) : a(input),
            ]);
            return text;
          };
        },
      });
    try {
      const env = { BASE_URL: `${simulator.url}/v1` };
      const store = createMemoryStore();
      const rec = createRecorder({ store, agent: 'racing-agent', redaction: { salt: 's' } });
      await rec.run('hello', racing(false).create({ rec, env }), { runId: 'run_race' });
      await rec.flush();
      const result = await createReplayer({ store, agent: racing(true) as never, redactionSalt: 's', env }).replay('run_race');
      const [first] = result.divergences;
      expect(first?.code).toBe('PAYLOAD_MISMATCH');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(first?.message).not.toMatch(/could not be read/);
      expect(first?.differences.map((difference) => difference.path)).toContainEqual(expect.stringContaining('messages'));
    } finally {
      await simulator.close();
    }
  });
});
