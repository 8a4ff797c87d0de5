/**
 * `retrial/simulator`: the built-in model simulator (OpenAI- and Anthropic-compatible; not a real
 * model) as a library, for tests and examples that record against it. Apart from the package root
 * because the demo it belongs to loads the openai client, which recording does not need.
 */
export type { SimulatorServer, SimulatorServerOptions } from './demo/index.ts';
export { startSimulatorServer } from './demo/index.ts';
