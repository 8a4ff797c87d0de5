import { UsageError } from './exit-codes.ts';

const RELATIVE = /^(\d+(?:\.\d+)?)(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Parses `90d`, `12h`, `30m`, `2w` (before now) or an ISO date into ms since epoch. */
export function parseTimeOption(value: string | undefined, flag: string, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const relative = RELATIVE.exec(value.trim());
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed))
    throw new UsageError(`${flag} "${value}" is not a time: use an ISO date (2026-10-01, 2026-10-01T02:00Z) or a duration before now (90d, 12h, 30m).`);
  return parsed;
}

export function parseIntegerOption(value: string | undefined, flag: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
  if (value === undefined) return undefined;
  // Digits only: Number() would also take '', '1e2', '0x14' and ' 4 '.
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${value}".`);
  return parsed;
}

/** Parses `50/s`, `3000/min` or a bare number (per second). */
export function parseRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute))?\s*$/i.exec(text);
  if (!match || Number(match[1]) <= 0) throw new UsageError(`--rate "${text}" must look like 50/s or 3000/min`);
  const per = (match[2] ?? 's').toLowerCase();
  return per.startsWith('m') ? Number(match[1]) / 60 : Number(match[1]);
}

const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses a duration such as `60s`, `2m`, `500ms` or `1h` (a bare number is seconds) into ms. */
export function parseDuration(value: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  const ms = match ? Number(match[1]) * DURATION_UNIT_MS[(match[2] ?? 's') as keyof typeof DURATION_UNIT_MS] : Number.NaN;
  if (!(ms >= 1) || !Number.isFinite(ms)) throw new UsageError(`${flag} "${value}" must be a positive duration such as 60s, 2m, 500ms or 1h.`);
  return Math.round(ms);
}
