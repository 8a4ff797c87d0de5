import { portableSiteName } from '../record/index.ts';
import { RecorderFlag, type TapeEvent } from '../tape/index.ts';

const ordinalOf = (key: string) => Number(key.slice(key.lastIndexOf('#') + 1));
const OLD_HTTP_BASE = /^(.*)http:(\S+) \S*$/;

/** Where a call started, for merging calls that old keys kept apart (see RecorderFlag.CallStartOrder). */
const startOf = (event: TapeEvent) => ('startedAfter' in event && typeof event.startedAfter === 'number' ? event.startedAfter : event.seq);

/**
 * A tape's events by the key a replay takes for them today. Tapes recorded with
 * RecorderFlag.PortableKeys are keyed as recorded. Older tapes named a random read's site by
 * file path and a plain HTTP call by host: their keys are brought to the portable form here, and
 * renumbered where two old names become one (`src/a.ts#handle` and `dist/a.js#handle` are both
 * `handle`; `http:GET a:80` and `http:GET b:81` are both `http:GET`). Random reads keep their
 * recorded order (each is recorded the moment it is drawn); HTTP calls are merged by where they
 * started, each host's calls keeping their recorded order.
 */
export function keyedEvents(events: readonly TapeEvent[], recorderFlags: readonly number[]): Map<string, TapeEvent> {
  const byKey = new Map<string, TapeEvent>();
  if (recorderFlags.includes(RecorderFlag.PortableKeys)) {
    for (const event of events) byKey.set(event.key, event);
    return byKey;
  }
  const ordinals = new Map<string, number>();
  const renumber = (base: string, event: TapeEvent) => {
    const ordinal = ordinals.get(base) ?? 0;
    ordinals.set(base, ordinal + 1);
    byKey.set(`${base}#${ordinal}`, event);
  };
  /** Old HTTP calls by their portable base, then by their old base, in recorded ordinal order. */
  const http = new Map<string, Map<string, TapeEvent[]>>();
  for (const event of events) {
    const base = event.key.slice(0, event.key.lastIndexOf('#'));
    if (event.kind === 'random' && base.endsWith(`random:${event.stream}`)) {
      // `rec.random` names its own stream; it is renumbered too, in case a site now shares its name.
      const prefix = base.slice(0, base.length - `random:${event.stream}`.length);
      renumber(`${prefix}random:${event.source === 'rec.random' ? event.stream : portableSiteName(event.stream)}`, event);
      continue;
    }
    const oldHttp = event.kind === 'tool' ? OLD_HTTP_BASE.exec(base) : null;
    if (oldHttp) {
      const portable = `${oldHttp[1]}http:${oldHttp[2]}`;
      const hosts = http.get(portable) ?? new Map<string, TapeEvent[]>();
      http.set(portable, hosts);
      hosts.set(base, [...(hosts.get(base) ?? []), event]);
      continue;
    }
    byKey.set(event.key, event);
  }
  for (const [portable, hosts] of http) {
    const queues = [...hosts.values()].map((calls) => calls.sort((a, b) => ordinalOf(a.key) - ordinalOf(b.key)));
    for (;;) {
      let next: TapeEvent[] | undefined;
      for (const queue of queues) {
        const head = queue[0];
        const best = next?.[0];
        if (head && (!best || startOf(head) < startOf(best) || (startOf(head) === startOf(best) && head.seq < best.seq))) next = queue;
      }
      const event = next?.shift();
      if (!event) break;
      renumber(portable, event);
    }
  }
  return byKey;
}

/** The function part of a site, recorded in the old form or the portable one (`handle`, `OpenAI.makeRequest`). */
export function siteFunction(site: string): string {
  const portable = portableSiteName(site);
  return portable.slice(portable.indexOf('#') + 1);
}

/** A plain HTTP call's arguments as the tape holds them (see the recorder's buildHttpEvent). */
export interface HttpArgs {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

/** Headers a client sets about itself (its version, the runtime's), not about the request. */
const CLIENT_HEADER = /^(user-agent|x-stainless-.*)$/i;

/**
 * What a plain HTTP call is matched on: its method, path and query, headers and body. The origin
 * (scheme, host, port) is left out, as are headers that describe the client: the endpoint a call
 * went to and the SDK's version belong to the machine, not to what the code asked.
 */
export function portableHttpRequest(args: HttpArgs): HttpArgs {
  let url = args.url;
  try {
    const parsed = new URL(args.url);
    url = `${parsed.pathname}${parsed.search}`;
  } catch {
    // Not an absolute URL: compared as it is.
  }
  const headers = Object.fromEntries(Object.entries(args.headers).filter(([name]) => !CLIENT_HEADER.test(name)));
  return { method: args.method, url, headers, body: args.body };
}
