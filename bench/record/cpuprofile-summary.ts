/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`) by self time: per file and per
 * function, plus the inclusive time of every function under `src/` (what the recorder costs,
 * callees included). Used to say where retrial's added latency goes when a target is missed.
 *   npx tsx bench/record/cpuprofile-summary.ts /tmp/prof/<file>.cpuprofile [topN]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [path, topArg] = process.argv.slice(2);
if (!path) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile> [topN]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const selfUs = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/').replace(/\?.*$/, '');
const label = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

function table(title: string, map: Map<string, number>): void {
  console.log(`\n${title} (of ${(totalUs / 1000).toFixed(0)} ms sampled)`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`);
  }
}

const byFile = new Map<string, number>();
const byFunction = new Map<string, number>();
const inclusiveSrc = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id) as ProfileNode;
  const file = shortUrl(node.callFrame.url) || `(${node.callFrame.functionName || 'native'})`;
  byFile.set(file, (byFile.get(file) ?? 0) + us);
  byFunction.set(label(node), (byFunction.get(label(node)) ?? 0) + us);
  // Inclusive time: credit every distinct src/ frame on this sample's stack once.
  const seen = new Set<string>();
  for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
    const frame = byId.get(cursor) as ProfileNode;
    if (!frame.callFrame.url.includes('/src/')) continue;
    const key = label(frame);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusiveSrc.set(key, (inclusiveSrc.get(key) ?? 0) + us);
  }
}
table('self time by file', byFile);
table('self time by function', byFunction);
table('inclusive time of src/ functions', inclusiveSrc);
