/**
 * Records the tapes this example checks in: two tickets through the demo's support agent against
 * the built-in model simulator. Run it again after a deliberate change of behaviour:
 *
 *   npx tsx examples/regression-test/record-tapes.ts
 *
 * In your project the imports are `retrial` and `retrial/testing`, and the agent is yours.
 */
import { createAccountSystem, createDemoWorld, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { recordTape } from '../../src/testing/index.ts';

const AT = Date.parse('2026-11-03T09:30:00Z');
const world = createDemoWorld({ runs: 200, endAt: AT });
const pick = (category: string, channel: string) => {
  const found = world.tickets.find((scheduled) => scheduled.ticket.category === category && scheduled.ticket.channel === channel);
  if (!found) throw new Error(`no ${category} ticket by ${channel} in the demo world`);
  return found;
};

const simulator = await startSimulatorServer({ port: 0, seed: 'regression-example' });
try {
  for (const [name, scheduled] of [
    ['refund-by-email', pick('refund', 'email')],
    ['account-by-chat', pick('account', 'chat')],
  ] as const) {
    const recorded = await recordTape({
      agent: supportAgent,
      input: scheduled.ticket,
      file: new URL(`./tapes/${name}.tape.jsonl`, import.meta.url),
      env: { RETRIAL_MODEL_BASE_URL: `${simulator.url}/v1` },
      services: createAccountSystem([scheduled.account]),
      run: { runId: `run_example-${name}`, startAt: scheduled.at, seed: '00c0ffee00c0ffee', externalIds: { ticket: scheduled.ticket.ticketId } },
    });
    console.log(`${name}: ${recorded.runId} -> ${JSON.stringify(recorded.output)}`);
  }
} finally {
  await simulator.close();
}
