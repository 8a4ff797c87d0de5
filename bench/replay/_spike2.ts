import { openSqliteStore } from '../../src/store/index.ts';
import { supportAgent } from '../../src/demo/index.ts';
import { replayRun } from '../../src/replay/replay-run.ts';
import { loadTape } from '../../src/inspect/index.ts';
const path = process.argv[2]!;
const store = await openSqliteStore(path);
const ids = await store.listRunIds();
for (let pass = 0; pass < 4; pass++) {
  let t = performance.now();
  for (const id of ids) await replayRun({ store, runId: id, agent: supportAgent as never, redactionSalt: 'bench-salt' });
  let el = performance.now() - t; console.log('replay pass', pass, (ids.length / el) * 1000);
  t = performance.now();
  for (const id of ids) await loadTape(store, id);
  el = performance.now() - t; console.log('loadTape pass', pass, (ids.length / el) * 1000);
}
