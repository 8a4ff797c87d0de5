import { RetrialError, type TapeEvent } from '../tape/index.ts';
import type { LoadedTape } from './load-tape.ts';
import { modelRequestContext } from './timeline.ts';
import { type ToolServing, toolServing } from './tool-serving.ts';

/** Everything recorded about one step, decoded: what `show --step k` prints. */
export type StepDetail =
  | {
      step: number;
      kind: 'model';
      key: string;
      at: string;
      durationMs: number;
      provider: string;
      model: { requested: string; served: string | null };
      systemFingerprint: string | null;
      messages: ReturnType<typeof modelRequestContext>['messages'];
      tools: ReturnType<typeof modelRequestContext>['tools'];
      toolChoice: unknown;
      responseFormat: unknown;
      sampling: Record<string, { value: unknown; source: 'sent' | 'default' }>;
      stream: boolean;
      response: Extract<TapeEvent, { kind: 'model' }>['response'];
      error: { message: string; status?: number } | null;
      wire: {
        method: string;
        url: string;
        status: number | null;
        requestHeaders: Record<string, string>;
        responseHeaders: Record<string, string>;
        requestText: string;
        responseText: string | null;
        streamChunks: number | null;
      };
      requestHash: string;
    }
  | {
      step: number;
      kind: 'tool' | 'retrieval';
      key: string;
      at: string;
      durationMs: number;
      name: string;
      effect: 'read' | 'write';
      stubbed: boolean;
      /** How the call was answered (a fork's reads come from its parent's tape). */
      serving: ToolServing;
      arguments: unknown;
      result: unknown;
      error: { name: string; message: string } | null;
    }
  | {
      step: number;
      kind: Exclude<TapeEvent['kind'], 'model' | 'tool' | 'retrieval'>;
      key: string;
      at: string;
      durationMs: number;
      event: TapeEvent;
      value: unknown;
    };

export class StepNotFoundError extends RetrialError {
  constructor({ runId, step, last }: { runId: string; step: number; last: number }) {
    super({ code: 'STEP_NOT_FOUND', message: `Run ${runId} has no step ${step}; its steps are 0-${last}. See them with \`npx retrial show ${runId}\`.` });
    this.name = 'StepNotFoundError';
  }
}

export function describeStep(tape: LoadedTape, step: number): StepDetail {
  const event = tape.events.find((candidate) => candidate.seq === step);
  if (!event) throw new StepNotFoundError({ runId: tape.run.header.runId, step, last: tape.run.eventCount - 1 });
  const base = { step, key: event.key, at: new Date(event.at).toISOString(), durationMs: event.durationMs };
  if (event.kind === 'model') {
    const context = modelRequestContext(tape, event);
    const chunks = event.wire.streamChunks ? tape.blob<unknown[]>(event.wire.streamChunks).length : null;
    const responseText =
      event.wire.responseBody === null
        ? null
        : event.wire.streamChunks
          ? JSON.stringify(tape.blob(event.wire.responseBody))
          : tape.blob<string>(event.wire.responseBody);
    return {
      ...base,
      kind: 'model',
      provider: event.provider,
      model: { requested: event.request.model, served: event.response?.model.served ?? null },
      systemFingerprint: event.response?.systemFingerprint ?? null,
      ...context,
      toolChoice: event.request.toolChoice,
      responseFormat: event.request.responseFormat,
      sampling: tape.blob<Record<string, { value: unknown; source: 'sent' | 'default' }>>(event.request.sampling),
      stream: event.request.stream,
      response: event.response,
      error: event.error ?? null,
      wire: {
        method: event.wire.method,
        url: event.wire.url,
        status: event.wire.status,
        requestHeaders: tape.blob<Record<string, string>>(event.wire.requestHeaders),
        responseHeaders: tape.blob<Record<string, string>>(event.wire.responseHeaders),
        requestText: tape.wireRequestText(event.wire.requestBody),
        responseText,
        streamChunks: chunks,
      },
      requestHash: event.requestHash,
    };
  }
  if (event.kind === 'tool' || event.kind === 'retrieval') {
    return {
      ...base,
      kind: event.kind,
      name: event.name,
      effect: event.kind === 'tool' ? event.effect : 'read',
      stubbed: event.stubbed ?? false,
      serving: toolServing(tape.run, event),
      arguments: tape.blob(event.kind === 'tool' ? event.args : event.query),
      result: event.result ? tape.blob(event.result) : null,
      error: event.error ?? null,
    };
  }
  const value = event.kind === 'input' ? tape.blob(event.value) : event.kind === 'config' && event.settings ? tape.blob(event.settings) : null;
  return { ...base, kind: event.kind, event, value };
}
