/**
 * An audit entry's details as one table cell: `key=value` pairs in their order, ids and other
 * strings whole (a cut id cannot be looked up), lists as their count or their few items, and
 * whole pairs left off at the end when the cell is full, with a pointer to `--json`.
 */
export function formatAuditDetails(details: unknown, width = 100): string {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return formatValue(details);
  const pairs = Object.entries(details).map(([key, value]) => `${key}=${formatValue(value)}`);
  let cell = '';
  for (const [index, pair] of pairs.entries()) {
    const next = cell ? `${cell} ${pair}` : pair;
    // The first pair always fits: an entry's main id is worth a wide cell.
    if (cell && next.length > width) return `${cell} … +${pairs.length - index} more (--json)`;
    cell = next;
  }
  return cell;
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    const simple = value.every((item) => typeof item === 'string' || typeof item === 'number');
    return simple && value.length <= 3 ? `[${value.join(',')}]` : `[${value.length} items]`;
  }
  const json = JSON.stringify(value);
  return json.length <= 60 ? json : `{${Object.keys(value).length} fields}`;
}
