/** The parts of a V8 `.cpuprofile` the benchmarks' profile summaries read. */
export interface Frame {
  functionName: string;
  url: string;
}
export interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A category of a profile summary: its name and which frames belong to it. */
export type Rule = [string, (frame: Frame) => boolean];

/** The name of the first rule matching the frame nearest the leaf, or undefined. */
export function nearestRule(stack: readonly Frame[], rules: readonly Rule[]): string | undefined {
  for (const frame of stack) for (const [name, test] of rules) if (test(frame)) return name;
  return undefined;
}

/**
 * Sums each sample's time into the category `categorize` gives its stack (leaf first). Samples
 * inside the inspector are the profiler serialising itself on stop, not the measured work.
 */
export function categorizeSamples(profile: Profile, categorize: (stack: Frame[]) => string): { sampledMs: number; categories: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const categories = new Map<string, number>();
  let sampledUs = 0;
  profile.samples.forEach((leaf, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    const stack: Frame[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) stack.push((byId.get(id) as ProfileNode).callFrame);
    if (stack.some((frame) => frame.url === 'node:inspector')) return;
    sampledUs += us;
    const category = categorize(stack);
    categories.set(category, (categories.get(category) ?? 0) + us / 1000);
  });
  return { sampledMs: sampledUs / 1000, categories };
}
