import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDemoAccountsNow, createDemoWorld, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { type RecordingRecorder, recordAgent } from '../../src/record/index.ts';
import { startServer } from '../../src/server/index.ts';
import { openStore } from '../../src/store/index.ts';
import { runCli } from '../cli/run-cli.ts';

const SALT = 'round-trip-salt-77';
const TOKEN = 'round-trip-token-3c1e';
const directory = mkdtempSync(join(tmpdir(), 'retrial-collector-round-trip-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('a run recorded through the collector', () => {
  it('verifies and replays REPRODUCED like the same agent recorded straight into a store', async () => {
    const simulator = await startSimulatorServer({ port: 0, seed: 'round-trip' });
    const env = { RETRIAL_MODEL_BASE_URL: `${simulator.url}/v1` };
    const world = createDemoWorld({ runs: 2000, endAt: Date.now() });
    const tickets = [
      ...new Map(world.tickets.map((scheduled) => [`${scheduled.ticket.category}/${scheduled.ticket.channel}`, scheduled.ticket])).values(),
    ].slice(0, 4);
    expect(tickets).toHaveLength(4);
    const collectedDb = join(directory, 'collected.db');
    const directDb = join(directory, 'direct.db');
    const collectorStore = await openStore(collectedDb);
    const server = await startServer({ store: collectorStore, host: '127.0.0.1', port: 0, token: TOKEN });
    const directStore = await openStore(directDb);
    try {
      const throughCollector = await recordAgent(supportAgent, {
        collector: { url: server.url, token: TOKEN },
        redactionSalt: SALT,
        env,
        services: createDemoAccountsNow(),
      });
      const direct = await recordAgent(supportAgent, { store: directStore, redactionSalt: SALT, env, services: createDemoAccountsNow() });
      const collectedIds: string[] = [];
      const directIds: string[] = [];
      for (const ticket of tickets) {
        const externalIds = { ticket: ticket.ticketId, customer: ticket.customerId };
        collectedIds.push((await throughCollector.handle(ticket, { externalIds })).runId);
        directIds.push((await direct.handle(ticket, { externalIds })).runId);
      }
      await throughCollector.flush();
      await direct.flush();
      expect((throughCollector.recorder as RecordingRecorder).health()).toMatchObject({
        unsentBatches: 0,
        runsDegraded: 0,
      });
      // The same shape of tape either way: the same event kinds, in the same order, for the same ticket.
      for (const [index, runId] of collectedIds.entries()) {
        const kinds = (await collectorStore.getEvents(runId)).map((event) => event.kind);
        expect(kinds).toEqual((await directStore.getEvents(directIds[index] as string)).map((event) => event.kind));
        expect(kinds).toContain('model');
        expect((await collectorStore.getRun(runId))?.status).toBe('complete');
      }
    } finally {
      await server.close();
      await collectorStore.close();
      await directStore.close();
      await simulator.close();
    }

    // Replayed from the tape alone: the model's base URL points nowhere.
    const elsewhere = { RETRIAL_MODEL_BASE_URL: 'http://127.0.0.1:9/v1', RETRIAL_REDACTION_SALT: SALT };
    for (const database of [collectedDb, directDb]) {
      const verify = await runCli(['verify', '--db', database]);
      expect(verify.stdout).toMatch(new RegExp(`^OK: ${tickets.length} runs, `, 'm'));
      expect(verify.status).toBe(0);
      const replay = await runCli(['replay', '--all', '--agent', 'src/demo/support-agent.ts', '--db', database], { env: elsewhere });
      expect(replay.stdout, replay.stderr).toContain(`${tickets.length} of ${tickets.length} runs reproduced exactly, 0 diverged`);
      expect(replay.status).toBe(0);
    }
  }, 300_000);
});
