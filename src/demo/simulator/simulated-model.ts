import { canonicalJson, sha256Hex } from '../../tape/index.ts';
import { type ActionContent, renderActionContent } from './action-content.ts';
import { extractConversationFeatures } from './conversation-features.ts';
import { convertAnthropicMessagesRequest } from './convert-anthropic-messages-request.ts';
import { convertOpenAiChatRequest } from './convert-openai-chat-request.ts';
import { convertOpenAiResponsesRequest } from './convert-openai-responses-request.ts';
import { DEFAULT_MODEL_ALIASES, MODEL_VERSIONS, type ModelVersion, resolveModelVersion } from './model-versions.ts';
import { renderOpenAiChatCompletion } from './openai-chat-wire.ts';
import { createSeededRandom, type SeededRandom } from './prng.ts';
import { actionDistribution, availableActions, computeActionLogits, sampleAction } from './scoring-model.ts';
import type { ActionRecord, SimulatorAction } from './simulator-actions.ts';
import { type SimulatorApiKind, type SimulatorRequest, SimulatorRequestError } from './simulator-request.ts';

/**
 * The simulated model in process, without HTTP. SIMULATOR ONLY: a scoring model with exact
 * softmax sampling, not a language model. The HTTP server wraps one of these; tests and
 * in-process calibration call it directly and can ask for the true probabilities of a request.
 *
 * Noise: each request's Gumbel draws come from sha256(seed, api kind, canonical body without
 * transport fields, occurrence index of that body on this instance). Concurrent requests in any
 * order get the same answers, a repeated request gets fresh noise, and a new instance with the
 * same seed replays the same sequence.
 */
export interface SimulatedModelOptions {
  /** Seed of all sampling noise; default `retrial-sim`. */
  seed?: string;
  /** Alias name to dated version id, merged over the default `{ 'support-sim': incumbent }`. */
  aliases?: Record<string, string>;
  /** Unix seconds for `created`; default the wall clock (captured before any recorder patch). */
  nowSeconds?: () => number;
}

export interface SimulatedChoice {
  action: SimulatorAction;
  content: ActionContent;
  /** Random part of the tool call id; each wire format adds its own prefix. */
  toolCallSuffix: string;
  completionTokens: number;
}

/** One answered request, wire-neutral; `openai-chat-wire.ts` and `anthropic-messages-wire.ts` render it. */
export interface SimulatedTurn {
  idSuffix: string;
  created: number;
  version: ModelVersion;
  choices: SimulatedChoice[];
  promptTokens: number;
  /** The exact distribution every choice was drawn from. */
  probabilities: ActionRecord;
  /** How many times this same request content was answered before on this instance. */
  occurrence: number;
}

export interface SimulatedModel {
  /** Answers a parsed request, consuming one occurrence of its content. Throws `SimulatorRequestError`. */
  respond(request: SimulatorRequest): SimulatedTurn;
  /** Answers an OpenAI chat completions body with a `chat.completion` object. */
  complete(openAiChatBody: unknown): Record<string, unknown>;
  /** True next-action distribution for this exact request; consumes nothing. */
  probabilities(body: unknown, apiKind?: SimulatorApiKind): ActionRecord;
  resolveModel(name: string): ModelVersion;
  setAlias(alias: string, versionId: string): void;
  aliases(): Record<string, string>;
}

const wallClockNow = Date.now.bind(Date);

export function createSimulatedModel(options: SimulatedModelOptions = {}): SimulatedModel {
  const seed = options.seed ?? 'retrial-sim';
  const aliases: Record<string, string> = { ...DEFAULT_MODEL_ALIASES };
  const occurrences = new Map<string, number>();
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(wallClockNow() / 1000));

  function setAlias(alias: string, versionId: string): void {
    if (!Object.hasOwn(MODEL_VERSIONS, versionId)) {
      throw new TypeError(`setAlias: "${versionId}" is not a simulator version; use one of ${Object.keys(MODEL_VERSIONS).join(', ')}.`);
    }
    if (Object.hasOwn(MODEL_VERSIONS, alias)) throw new TypeError(`setAlias: "${alias}" is a dated version and cannot be an alias.`);
    aliases[alias] = versionId;
  }
  for (const [alias, versionId] of Object.entries(options.aliases ?? {})) setAlias(alias, versionId);

  function resolveModel(name: string): ModelVersion {
    const version = resolveModelVersion(name, aliases);
    if (version) return version;
    throw new SimulatorRequestError({
      status: 404,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
      message: `The model '${name}' does not exist or you do not have access to it. Known: ${[...Object.keys(MODEL_VERSIONS), ...Object.keys(aliases)].join(', ')}`,
    });
  }

  function distributionOf(request: SimulatorRequest, version: ModelVersion) {
    const features = extractConversationFeatures(request.messages);
    const logits = computeActionLogits(version.weights, features);
    const available = availableActions(request.offeredTools, request.toolChoice);
    return { features, logits, available, probabilities: actionDistribution(logits, available, request.temperature) };
  }

  function respond(request: SimulatorRequest): SimulatedTurn {
    const version = resolveModel(request.model);
    const contentKey = sha256Hex(`${request.apiKind}\n${canonicalJson(request.seedBody)}`);
    const occurrence = occurrences.get(contentKey) ?? 0;
    occurrences.set(contentKey, occurrence + 1);
    const random = createSeededRandom(`${seed}\n${contentKey}\n${occurrence}`);
    const { features, logits, available, probabilities } = distributionOf(request, version);
    const choices: SimulatedChoice[] = [];
    for (let index = 0; index < request.choiceCount; index++) {
      const action = sampleAction(logits, available, request.temperature, random);
      const content = renderActionContent(action, features);
      const completionText = content.kind === 'text' ? content.text : content.toolName + JSON.stringify(content.arguments);
      choices.push({ action, content, toolCallSuffix: randomIdText(random, 24), completionTokens: Math.max(1, Math.ceil(completionText.length / 4)) });
    }
    return {
      idSuffix: randomIdText(random, 29),
      created: nowSeconds(),
      version,
      choices,
      promptTokens: Math.max(1, Math.ceil(request.promptCharacters / 4)),
      probabilities,
      occurrence,
    };
  }

  function convert(body: unknown, apiKind: SimulatorApiKind): SimulatorRequest {
    if (apiKind === 'openai-responses') return convertOpenAiResponsesRequest(body);
    if (apiKind === 'gemini') throw new TypeError('probabilities: a Gemini body names no model; send it through the simulator server.');
    return apiKind === 'openai-chat' ? convertOpenAiChatRequest(body) : convertAnthropicMessagesRequest(body);
  }

  return {
    respond,
    complete: (body) => renderOpenAiChatCompletion(respond(convertOpenAiChatRequest(body))),
    probabilities(body, apiKind = 'openai-chat') {
      const request = convert(body, apiKind);
      return distributionOf(request, resolveModel(request.model)).probabilities;
    },
    resolveModel,
    setAlias,
    aliases: () => ({ ...aliases }),
  };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomIdText(random: SeededRandom, length: number): string {
  let text = '';
  for (let index = 0; index < length; index++) text += ID_ALPHABET[random.nextUint32() % ID_ALPHABET.length];
  return text;
}
