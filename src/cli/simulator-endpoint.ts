import { randomBytes } from 'node:crypto';

export interface SimulatorEndpoint {
  /** Base URL and key of the simulator, or null when it was not needed. */
  endpoint: { baseUrl: string; apiKey: string } | null;
  close(): Promise<void>;
}

/**
 * Starts the model simulator over loopback for commands aimed at `sim:` or at a simulator-recorded
 * run, with a fresh seed as a live endpoint samples afresh each time. The demo (and the SDKs it
 * loads) is imported only when the simulator is needed.
 */
export async function startSimulatorIfNeeded(needed: boolean, aliases?: Record<string, string>): Promise<SimulatorEndpoint> {
  if (!needed) return { endpoint: null, close: async () => {} };
  const { startSimulatorServer } = await import('../demo/index.ts');
  const simulator = await startSimulatorServer({ port: 0, seed: randomBytes(8).toString('hex'), aliases });
  return { endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' }, close: () => simulator.close() };
}
