import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordDemoHistory, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { replayRun } from '../../src/replay/replay-run.ts';
import { loadTape } from '../../src/inspect/index.ts';
const dir = '/tmp/spikedb'; (await import('node:fs')).mkdirSync(dir,{recursive:true});
const sim = await startSimulatorServer({ port: 0 });
const store = await openSqliteStore(join(dir, 's.sqlite'));
let t = performance.now();
const h = await recordDemoHistory({ store, modelBaseUrl: `${sim.url}/v1`, runs: 300, redactionSalt: 'bench-salt' });
console.log('record', performance.now() - t, h.failedRuns);
await store.close(); await sim.close();
const s2 = await openSqliteStore(join(dir, 's.sqlite'));
const shapes = new Map<string, number>();
for (const id of h.runIds.slice(0, 300)) {
  const tape = await loadTape(s2, id);
  const c: Record<string, number> = {};
  for (const e of tape.events) { const k = e.kind === 'clock' || e.kind === 'random' ? `${e.kind}:${(e as any).source}` : e.kind === 'tool' ? `tool:${(e as any).name}`: e.kind; c[k] = (c[k] ?? 0) + 1; }
  const key = JSON.stringify(Object.entries(c).sort());
  shapes.set(key, (shapes.get(key) ?? 0) + 1);
}
for (const [k, v] of [...shapes].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(v, k);
for (let pass = 0; pass < 0; pass++) {
  t = performance.now(); let bad = 0;
  for (const id of h.runIds) { const r = await replayRun({ store: s2, runId: id, agent: supportAgent as never, redactionSalt: 'bench-salt' }); if (!r.ok) { bad++; if (bad < 3) console.log(JSON.stringify(r.divergences[0]).slice(0, 400)); } }
  const el = performance.now() - t; console.log('pass', pass, el, (h.runIds.length / el) * 1000, 'bad', bad);
}
