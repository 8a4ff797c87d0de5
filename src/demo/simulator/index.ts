/**
 * The built-in model SIMULATOR: an OpenAI- and Anthropic-compatible server whose "model" is a
 * small scoring model over the demo's support conversations, sampled exactly with softmax at the
 * request's temperature plus tiny noise. It is not a language model. Because it knows its true
 * probabilities, the product's behaviour-rate and flip-rate estimates can be checked against
 * ground truth (`probabilities`, `trueActionDistribution`).
 */

export {
  type ConversationFeatures,
  type CustomerIntent,
  classifyIntent,
  extractConversationFeatures,
  type SimulatorMessage,
} from './conversation-features.ts';
export { createSimulatorFetch } from './in-process-fetch.ts';
export {
  CANDIDATE_VERSION_ID,
  DEFAULT_MODEL_ALIASES,
  INCUMBENT_VERSION_ID,
  MODEL_VERSIONS,
  type ModelVersion,
  type ScoringWeights,
} from './model-versions.ts';
export { createSeededRandom, type SeededRandom } from './prng.ts';
export { generateRefundCase, type RefundCase, type UniformSource } from './refund-population.ts';
export { TINY_NOISE_TEMPERATURE, type TrueActionDistributionInput, trueActionDistribution } from './scoring-model.ts';
export { type AccountPlan, type AccountStatus, parseSimulatedAccount, type SimulatedAccount } from './simulated-account.ts';
export { createSimulatedModel, type SimulatedModel, type SimulatedModelOptions, type SimulatedTurn } from './simulated-model.ts';
export {
  type ActionRecord,
  SIMULATOR_ACTIONS,
  SIMULATOR_TOOL_NAMES,
  type SimulatorAction,
  type SimulatorToolChoice,
  type SimulatorToolName,
} from './simulator-actions.ts';
export { SIMULATOR_NOTICE } from './simulator-http-result.ts';
export { SimulatorRequestError } from './simulator-request.ts';
export { type SimulatorServer, type SimulatorServerOptions, startSimulatorServer } from './simulator-server.ts';
