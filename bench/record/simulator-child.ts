/**
 * Child process that runs the model simulator for the record benchmark.
 *
 * Why a child and not in-process: on a 2-core machine the server's own work (JSON parse, the
 * scoring model, SSE writes) would otherwise run on the same event loop as the client under
 * test and smear into every arm's latency. In its own process it gets the other core.
 *
 * Starts two loopback servers and prints one JSON line `{ plain, streaming }` with their base
 * URLs: `plain` answers at once (latency arms, stored bytes), `streaming` waits `chunkDelayMs`
 * between SSE events (first-chunk arm). Exits when its stdin closes, so it never outlives the
 * benchmark even if the parent is killed.
 */
import { startSimulatorServer } from '../../src/demo/simulator/index.ts';

const chunkDelayMs = Number(process.argv[2] ?? '20');
const seed = process.argv[3] ?? 'record-bench';

const plain = await startSimulatorServer({ seed, latencyMs: 0, chunkDelayMs: 0 });
const streaming = await startSimulatorServer({ seed, latencyMs: 0, chunkDelayMs });

async function shutdown(): Promise<void> {
  await Promise.allSettled([plain.close(), streaming.close()]);
  process.exit(0);
}

process.stdin.on('end', () => void shutdown());
process.stdin.resume();
process.on('SIGTERM', () => void shutdown());
process.stdout.write(`${JSON.stringify({ plain: plain.url, streaming: streaming.url })}\n`);
