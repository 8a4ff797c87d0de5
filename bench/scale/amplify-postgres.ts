/**
 * Grows a PostgreSQL store filled by scale-bench.ts (clones `run_syn-*`) to a larger size in SQL,
 * by copying its clones: the Store-interface path imports about 20 runs a second into PostgreSQL on
 * the shared 2-core box, so 100,000 runs would take 1.5 hours; a copy in SQL takes a minute or two.
 *
 *   npx tsx bench/scale/amplify-postgres.ts --db postgres://... --to 100000
 *
 * Copy k of clone i (ticket T-S<i>) becomes clone i + k x N (N clones at the start): new run,
 * decision and ticket ids, customer C-S<(i + k x N) mod 25,000> as synthesize-runs.ts numbers
 * them, and the run's times moved by whole days inside the source's window. The run's pack row is
 * copied byte for byte (so bytes per run are a clone's), which still names the original ids: the
 * copies are for timing queries and loads and for sizes, not for `retrial verify`.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';

const DAY = 86_400_000;
const { values } = parseArgs({ options: { db: { type: 'string' }, to: { type: 'string' } } });
if (!values.db || !values.to) throw new Error('usage: amplify-postgres.ts --db postgres://... --to <runs>');
const target = Number(values.to);
const client = new pg.Client({ connectionString: values.db });
await client.connect();
try {
  const clones = Number((await client.query(`SELECT COUNT(*) AS n FROM runs WHERE run_id LIKE 'run_syn-%' AND run_id NOT LIKE '%~%'`)).rows[0].n);
  const window = (
    await client.query(`SELECT floor(MIN(recorded_at) / ${DAY}) * ${DAY} AS start, MAX(recorded_at) AS last FROM runs WHERE run_id NOT LIKE 'run_syn-%'`)
  ).rows[0] as { start: number; last: number };
  const days = Math.max(1, Math.round((window.last + DAY - window.start) / DAY));
  let present = Number((await client.query('SELECT COUNT(*) AS n FROM runs')).rows[0].n);
  console.log(`${present} runs, ${clones} clones to copy; window ${days} days`);
  // A store amplified before goes on from its last copy.
  const done = Number((await client.query(`SELECT COALESCE(MAX(split_part(run_id, '~', 2)::int), 0) AS k FROM runs WHERE run_id LIKE '%~%'`)).rows[0].k);
  for (let k = done + 1; present < target; k++) {
    const take = Math.min(clones, target - present);
    const started = performance.now();
    await client.query('BEGIN');
    // The copies of this round: old id, new id, its number, and how far its times move.
    await client.query(
      `CREATE TEMP TABLE copy_map ON COMMIT DROP AS
       SELECT r.run_id AS old_id, r.run_id || '~' || $1::text AS new_id, substr(x.value, 4)::bigint + $1::bigint * $2::bigint AS number,
              x.value AS old_ticket, c.value AS old_customer,
              ($3::double precision + (((r.recorded_at - $3::double precision)::bigint + (($1::bigint * 37) % $4::bigint) * ${DAY}) % ($4::bigint * ${DAY})))
                - r.recorded_at AS delta
         FROM runs r JOIN run_external_ids x ON x.run_id = r.run_id AND x.name = 'ticket' JOIN run_external_ids c ON c.run_id = r.run_id AND c.name = 'customer'
        WHERE r.run_id LIKE 'run_syn-%' AND r.run_id NOT LIKE '%~%' ORDER BY r.run_id LIMIT $5`,
      [k, clones, window.start, days, take],
    );
    await client.query(
      `INSERT INTO runs (run_id, agent, status, recorded_at, header_json, root_hash, head_hash, seal_hash, event_count, event_bytes, ending_json,
                         writer_pid, writer_host, parent_run_id, models_served, packed)
       SELECT m.new_id, r.agent, r.status, r.recorded_at + m.delta,
              replace(replace(replace(r.header_json, m.old_id, m.new_id), '"' || m.old_ticket || '"', '"T-S' || m.number || '"'),
                      '"' || m.old_customer || '"', '"C-S' || (m.number % 25000) || '"'),
              r.root_hash, r.head_hash, r.seal_hash, r.event_count, r.event_bytes, r.ending_json, NULL, NULL, NULL, r.models_served, r.packed
         FROM copy_map m JOIN runs r ON r.run_id = m.old_id`,
    );
    await client.query(
      `INSERT INTO run_external_ids (run_id, name, value)
       SELECT m.new_id, x.name, CASE x.name WHEN 'ticket' THEN 'T-S' || m.number WHEN 'customer' THEN 'C-S' || (m.number % 25000) ELSE x.value END
         FROM copy_map m JOIN run_external_ids x ON x.run_id = m.old_id`,
    );
    await client.query(
      `INSERT INTO run_packs (run_id, encoding, size, data, dictionary_run_id)
       SELECT m.new_id, p.encoding, p.size, p.data, p.dictionary_run_id FROM copy_map m JOIN run_packs p ON p.run_id = m.old_id`,
    );
    await client.query(
      `INSERT INTO events (run_id, seq, kind, causal_key, at, json, hash)
       SELECT m.new_id, e.seq, e.kind, e.causal_key, e.at + m.delta, e.json, e.hash FROM copy_map m JOIN events e ON e.run_id = m.old_id`,
    );
    await client.query(
      `INSERT INTO decisions (decision_id, run_id, seq, agent, type, subject, value, amount, currency, reversible, effective_at, recorded_at,
                              model_served, attributes_json, supersedes)
       SELECT d.decision_id || '~' || $1::text, m.new_id, d.seq, d.agent, d.type,
              CASE WHEN d.subject = m.old_ticket THEN 'T-S' || m.number WHEN d.subject = m.old_customer THEN 'C-S' || (m.number % 25000) ELSE d.subject END,
              d.value, d.amount, d.currency, d.reversible, d.effective_at + m.delta, d.recorded_at + m.delta, d.model_served, d.attributes_json,
              CASE WHEN d.supersedes IS NULL THEN NULL ELSE d.supersedes || '~' || $1::text END
         FROM copy_map m JOIN decisions d ON d.run_id = m.old_id`,
      [k],
    );
    await client.query('COMMIT');
    present += take;
    console.log(`  copy ${k}: ${present} runs (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  await client.query('VACUUM ANALYZE');
} finally {
  await client.end();
}
