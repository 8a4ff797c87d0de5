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
