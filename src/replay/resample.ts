import { describeStep, loadTape } from '../inspect/index.ts';
import { detectWireFormat } from '../providers/index.ts';
import { originals } from '../record/index.ts';
import { type ProportionEstimate, wilsonInterval } from '../stats/index.ts';
import type { Store } from '../store/index.ts';
import { canonicalJson, RetrialError } from '../tape/index.ts';
import { classifyResponse } from './classify-response.ts';
import { createModelEndpoint, EndpointError } from './model-endpoint.ts';
import type { ModelTarget } from './model-target.ts';
import { costOf, DEFAULT_PRICE_TABLE, type PriceTable } from './price-table.ts';

export interface ResampleOptions {
  store: Store;
  runId: string;
  /** Seq of the model event to resample. */
  step: number;
  /** Number of samples, fixed in advance. */
  n: number;
  /** Model to ask; null sends the recorded model name. */
  target: ModelTarget | null;
  /** OpenAI-compatible base URL ending in /v1, or the Anthropic base URL. */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  /**
   * JSON path into the canonical response to classify by; `tools` (CLASSIFY_BY_TOOLS) by every
   * tool one answer chose; null by the tool chosen (the first).
   */
  classifyBy?: string | null;
  /** The class whose rate is the headline, stated before sampling; default the recorded answer's class. */
  hypothesis?: string | null;
  concurrency?: number;
  /** At most this many requests started per second. */
  ratePerSecond?: number;
  prices?: PriceTable;
  onProgress?: (done: number, total: number) => void;
  /** Store the result with the run (default true). */
  save?: boolean;
}

export interface ResampleClass {
  class: string;
  count: number;
  estimate: ProportionEstimate;
}

export interface ResampleResult {
  analysisId: string;
  runId: string;
  step: number;
  causalKey: string;
  /**
   * Model name sent, and versions the endpoint said it served. `provider` is the target's
   * (null: none given, the recorded model's endpoint); absent in results stored before it was kept.
   */
  model: { provider?: ModelTarget['provider'] | null; sent: string; served: Record<string, number> };
  n: number;
  completed: number;
  failed: number;
  classifiedBy: string;
  recordedClass: string;
  hypothesis: { class: string; estimate: ProportionEstimate };
  distribution: ResampleClass[];
  tokens: { input: number; output: number };
  /** USD, or null when the price table has no entry for the model. */
  costUsd: number | null;
  startedAt: string;
  durationMs: number;
  /** False when the endpoint failed before all N answers came back. */
  complete: boolean;
  error: string | null;
}

/**
 * Sends the exact request recorded at one step N times to a live model and reports how often
 * each answer comes back, with Wilson 95% intervals. Needs only the tape, not the agent's code.
 */
export async function resampleStep(options: ResampleOptions): Promise<ResampleResult> {
  const started = performance.now();
  const tape = await loadTape(options.store, options.runId);
  const detail = describeStep(tape, options.step);
  if (detail.kind !== 'model')
    throw new RetrialError({
      code: 'USAGE',
      message: `Step ${options.step} of ${options.runId} is a ${detail.kind} step; resample needs a model step (see \`npx retrial show ${options.runId}\`).`,
    });
  const format = detectWireFormat(new URL(detail.wire.url), JSON.parse(detail.wire.requestText));
  if (!format) throw new RetrialError({ code: 'USAGE', message: `Step ${options.step} was recorded in a wire format resample does not know.` });
  let body = detail.wire.requestText;
  // Gemini names the model in the URL, which the endpoint builds from modelSent; the others in the body.
  if (options.target && options.target.model !== detail.model.requested && format.id !== 'gemini')
    body = JSON.stringify({ ...JSON.parse(body), model: options.target.model });
  const modelSent = options.target?.model ?? detail.model.requested;
  const classifiedBy = options.classifyBy ?? 'tool chosen';
  const recordedClass = detail.response ? classifyResponse(detail.response, options.classifyBy ?? null) : '(no answer)';
  const endpoint = createModelEndpoint({ format, baseUrl: options.baseUrl, apiKey: options.apiKey, fetch: options.fetch });

  const counts = new Map<string, number>();
  const served = new Map<string, number>();
  const tokens = { input: 0, output: 0 };
  let completed = 0;
  let failed = 0;
  let consecutiveFailures = 0;
  let lastFailure: string | null = null;
  let error: string | null = null;
  let next = 0;
  const interval = options.ratePerSecond ? 1000 / options.ratePerSecond : 0;
  const startedWall = originals.dateNow();

  const worker = async () => {
    while (next < options.n && error === null) {
      const index = next++;
      if (interval) {
        const due = startedWall + index * interval - originals.dateNow();
        if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      }
      try {
        const answer = await endpoint.send(body, modelSent);
        consecutiveFailures = 0;
        const label = classifyResponse(answer, options.classifyBy ?? null);
        counts.set(label, (counts.get(label) ?? 0) + 1);
        if (answer.model.served) served.set(answer.model.served, (served.get(answer.model.served) ?? 0) + 1);
        tokens.input += answer.usage.inputTokens ?? 0;
        tokens.output += answer.usage.outputTokens ?? 0;
        completed++;
      } catch (cause) {
        failed++;
        consecutiveFailures++;
        lastFailure = (cause as Error).message;
        // A dead endpoint fails every request; stop after a few in a row and keep what we have.
        if (consecutiveFailures >= 3 && error === null) error = (cause as Error).message;
      }
      options.onProgress?.(completed + failed, options.n);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, options.n)) }, worker));
  // Fewer requests than the stop rule's run of failures can all fail too: no answer at all is a failed endpoint.
  if (completed === 0 && error === null && lastFailure !== null) error = lastFailure;

  const distribution = [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([label, count]) => ({ class: label, count, estimate: wilsonInterval(count, completed) }));
  const hypothesisClass = options.hypothesis === null || options.hypothesis === undefined ? recordedClass : asClass(options.hypothesis);
  const result: ResampleResult = {
    analysisId: `rs_${startedWall.toString(36)}${originals.randomBytes(3).toString('hex')}`,
    runId: tape.run.header.runId,
    step: options.step,
    causalKey: detail.key,
    model: { provider: options.target?.provider ?? null, sent: modelSent, served: Object.fromEntries(served) },
    n: options.n,
    completed,
    failed,
    classifiedBy,
    recordedClass,
    hypothesis: { class: hypothesisClass, estimate: wilsonInterval(counts.get(hypothesisClass) ?? 0, completed) },
    distribution,
    tokens,
    costUsd: costOf(options.prices ?? DEFAULT_PRICE_TABLE, modelSent, tokens.input, tokens.output),
    startedAt: new originals.Date(startedWall).toISOString(),
    durationMs: performance.now() - started,
    complete: completed === options.n,
    error,
  };
  if (options.save !== false)
    await options.store.saveRunAnalysis({ analysisId: result.analysisId, runId: result.runId, kind: 'resample', createdAt: startedWall, result });
  if (error !== null)
    throw Object.assign(
      new EndpointError(
        completed === 0
          ? `${error}; no answer came back (all ${failed} requests sent failed), so there is no rate; the empty partial result is ${result.analysisId}. Check the endpoint and its key.`
          : `${error}; ${completed} of ${options.n} answers were kept as a partial result (${result.analysisId}).`,
      ),
      {
        partial: result,
      },
    );
  return result;
}

/** A hypothesis typed as JSON (an object or array) names the class its canonical form labels. */
function asClass(hypothesis: string): string {
  if (!/^\s*[[{]/.test(hypothesis)) return hypothesis;
  try {
    return canonicalJson(JSON.parse(hypothesis));
  } catch {
    return hypothesis;
  }
}
