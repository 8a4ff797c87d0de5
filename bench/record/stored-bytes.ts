/**
 * Arm 3 of the benchmark: bytes stored for one agent-like run.
 *
 * 20 sequential model calls, each sending an 8 KB system prompt plus the growing conversation
 * (the assistant reply and then a tool result or a user follow-up are appended every step, as in
 * a real tool loop). One pass, so every recorder sees the very same exchanges: the client calls
 * `rec.fetch`, whose base fetch copies the wire bytes (for the naive figures) and goes through
 * Polly, which records them too. Retrial writes into a fresh SQLite file.
 *
 * Figures: naive JSON (request + response bodies, what a simple logger keeps), gzip -9 of their
 * concatenation, retrial's logical bytes (store.stats deltas: event JSON + stored blob bytes),
 * retrial's on-disk bytes (file after VACUUM minus an empty store after VACUUM), Polly's HAR.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { createRecorder } from '../../src/record/index.ts';
import { openSqliteStore, type StoreStats } from '../../src/store/index.ts';
import { directoryBytes, pollyRoutedFetch, startPollySession } from './peer-polly.ts';
import { followUp, MODEL, policyText, TOOLS, toolResult } from './request-bodies.ts';
import { pagesByTable, type StoreBreakdown, storeBreakdown } from './store-breakdown.ts';

export interface StoredBytesResult {
  steps: number;
  systemPromptBytes: number;
  naiveJsonBytes: number;
  gzipBytes: number;
  /** Event + blob bytes as the store keeps them (after its compression), from stats() deltas. */
  retrialLogicalBytes: number;
  /** The same before compression (canonical JSON). */
  retrialRawBytes: number;
  /** Which stats() fields gave the figures (the StoreStats shape is changing under src/). */
  statsFields: string;
  retrialVacuumBytes: number;
  peerBytes: number;
  /** After VACUUM: bytes per table/index, minus the empty store's (only those that grew). */
  onDiskByTable: Record<string, { bytes: number; unused: number }>;
  breakdown: StoreBreakdown;
}

export async function measureStoredBytes(options: { baseUrl: string; workDir: string; steps?: number; systemBytes?: number }): Promise<StoredBytesResult> {
  const steps = options.steps ?? 20;
  const system = policyText(options.systemBytes ?? 8192);
  const dbPath = join(options.workDir, 'twenty-step.sqlite');
  const pollyDir = join(options.workDir, 'polly-twenty-step');
  const store = await openSqliteStore(dbPath);
  const before = await store.stats();

  const wireTexts: string[] = [];
  const copyingFetch: typeof fetch = async (input, init) => {
    if (typeof init?.body !== 'string') throw new Error('expected the openai client to send a string body');
    wireTexts.push(init.body);
    const response = await pollyRoutedFetch(input, init);
    wireTexts.push(await response.clone().text());
    return response;
  };
  const rec = createRecorder({ store, agent: 'bench-bytes', baseFetch: copyingFetch });
  const client = new OpenAI({ baseURL: `${options.baseUrl}/v1`, apiKey: 'sk-bench-not-a-key', fetch: rec.fetch, maxRetries: 0 });
  const polly = startPollySession(pollyDir, 'twenty-step-run');

  let runId = '';
  await rec.run({ ticket: 'T-000001' }, async () => {
    runId = rec.currentRunId() ?? '';
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: system },
      { role: 'user', content: 'Ticket T-000001 from customer C-1042: I was charged twice this month, can you refund one of the charges please?' },
    ];
    for (let step = 0; step < steps; step++) {
      const completion = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS, temperature: 0 });
      const message = completion.choices[0]?.message;
      if (!message) throw new Error('the simulator returned no choice');
      messages.push(message as ChatCompletionMessageParam);
      const calls = message.tool_calls ?? [];
      for (const call of calls) messages.push({ role: 'tool', tool_call_id: call.id, content: toolResult(step) });
      if (calls.length === 0) messages.push({ role: 'user', content: followUp(step) });
    }
  });
  await polly.stop();
  // The run is packed in the background once it has ended; what is stored is the packed run.
  await store.idle();

  const after = await store.stats();
  const breakdown = await storeBreakdown(store, runId);
  await store.close();

  const naive = Buffer.from(wireTexts.join(''), 'utf8');
  const emptyPath = join(options.workDir, 'empty.sqlite');
  await (await openSqliteStore(emptyPath)).close();
  const result: StoredBytesResult = {
    steps,
    systemPromptBytes: Buffer.byteLength(system),
    naiveJsonBytes: naive.length,
    gzipBytes: gzipSync(naive, { level: 9 }).length,
    retrialLogicalBytes: contentBytes(after).stored - contentBytes(before).stored,
    retrialRawBytes: contentBytes(after).raw - contentBytes(before).raw,
    statsFields: contentBytes(after).fields,
    retrialVacuumBytes: vacuumedSize(dbPath) - vacuumedSize(emptyPath),
    onDiskByTable: tableDelta(pagesByTable(dbPath), pagesByTable(emptyPath)),
    peerBytes: directoryBytes(pollyDir),
    breakdown,
  };
  rmSync(pollyDir, { recursive: true, force: true });
  return result;
}

/**
 * Event + blob bytes from store.stats(), stored and raw. Accepts both shapes seen in src/: the
 * newer `contentBytesStored` + `eventBytesRaw`, and the older `eventBytes` + `blobBytesStored`.
 */
function contentBytes(stats: StoreStats): { stored: number; raw: number; fields: string } {
  const fields = stats as unknown as Record<string, number | undefined>;
  if (typeof fields.contentBytesStored === 'number') {
    return {
      stored: fields.contentBytesStored,
      raw: (fields.eventBytesRaw ?? 0) + stats.blobBytesRaw,
      fields: 'contentBytesStored; raw = eventBytesRaw + blobBytesRaw',
    };
  }
  const eventBytes = fields.eventBytes ?? 0;
  return {
    stored: eventBytes + (fields.blobBytesStored ?? 0),
    raw: eventBytes + stats.blobBytesRaw,
    fields: 'eventBytes + blobBytesStored; raw = eventBytes + blobBytesRaw',
  };
}

type TablePages = Record<string, { bytes: number; unused: number }>;

/** Tables and indexes that grew, with their growth and the free space inside their pages. */
function tableDelta(full: TablePages, empty: TablePages): TablePages {
  const delta: TablePages = {};
  for (const [name, size] of Object.entries(full)) {
    const before = empty[name] ?? { bytes: 0, unused: 0 };
    if (size.bytes !== before.bytes) delta[name] = { bytes: size.bytes - before.bytes, unused: size.unused - before.unused };
  }
  return delta;
}

/** Folds the WAL back, VACUUMs, and returns the file size. */
function vacuumedSize(path: string): number {
  const db = new Database(path);
  db.pragma('journal_mode = DELETE');
  db.exec('VACUUM');
  db.close();
  return statSync(path).size;
}
