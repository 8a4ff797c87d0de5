/**
 * A support service that records every request through its agent module: one `recordAgent` for
 * the life of the process, one recorded run per request, the run id handed back to the caller.
 * Run it from the repository root:
 *
 *   npx tsx examples/service/server.ts                 # starts the built-in model simulator too
 *   curl -s localhost:8790/tickets -d '{"ticketId":"T-1","customerId":"C-10001","category":"refund","channel":"email","message":"I was charged twice."}'
 *   npx retrial replay <runId> --agent src/demo/support-agent.ts --db .retrial/service.db
 *
 * In your service the imports are `retrial` and your own agent module.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { type AccountSystem, createDemoAccountsNow, type SupportTicket, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { createRunId, openStore, recordAgent, type Store } from '../../src/index.ts';

export interface SupportService {
  url: string;
  close(): Promise<void>;
}

export interface SupportServiceOptions {
  store: Store;
  /** What the agent module's create() reads (its model base URL, keys); default process.env. */
  env?: Record<string, string | undefined>;
  services?: AccountSystem;
  port?: number;
}

export async function startSupportService(options: SupportServiceOptions): Promise<SupportService> {
  // Once per process: create() builds the clients and tools, every request reuses them.
  // The redaction salt is the redaction-salt file beside the store (or RETRIAL_REDACTION_SALT).
  const recording = await recordAgent(supportAgent, { store: options.store, env: options.env, services: options.services ?? createDemoAccountsNow() });

  async function handleTicket(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const ticket = JSON.parse(await readBody(request)) as SupportTicket;
    // Chosen here so a failed request can name its run too.
    const runId = createRunId(Date.now());
    try {
      const { output } = await recording.handle(ticket, { runId, externalIds: { ticket: ticket.ticketId, customer: ticket.customerId } });
      send(response, 200, { runId, ...output });
    } catch (error) {
      send(response, 500, { runId, error: (error as Error).message });
    }
  }

  const server = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/tickets') {
      handleTicket(request, response).catch((error: unknown) => send(response, 400, { error: (error as Error).message }));
      return;
    }
    send(response, 404, { error: 'POST a ticket to /tickets' });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 8790, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      // Every run recorded so far is durable before the process goes.
      await recording.flush();
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const store = await openStore(process.env.RETRIAL_DB ?? '.retrial/service.db');
  // The demo's model simulator stands in for the provider unless a base URL is given.
  const simulator = process.env.RETRIAL_MODEL_BASE_URL ? undefined : await startSimulatorServer({ port: 0 });
  const env = simulator ? { ...process.env, RETRIAL_MODEL_BASE_URL: `${simulator.url}/v1` } : process.env;
  const service = await startSupportService({ store, env, port: Number(process.env.PORT ?? 8790) });
  console.log(`support service listening on ${service.url}, recording into ${store.location}`);
  const stop = async () => {
    await service.close();
    await simulator?.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
