import { sendCancel } from './support/stack.js';
import { oneEngineStack } from './support/one-engine.js';

/**
 * A SELECT that can leave nothing behind (no volatile function, no INTO, no lock) runs as a plain unit: its answer
 * ends it, and the engine rolls it back just before the next unit (server/engine/worker.ts). Through node-postgres,
 * with one engine so that each statement's unit follows the previous one on the same backend: a plain statement's
 * rows never reach the next unit, and statements that call volatile functions (advisory locks, set_config) still
 * get the full cleanup, so another session sees nothing of them.
 */
const region = 'us-east-1';
const { stack, connect } = oneEngineStack(['plain-a', 'plain-b']);

const pointRead =
  'SELECT connector_profile_name FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2';
/** The rows are loaded into the engine for each statement: no direct read, no answer kept. */
const throughTheEngine = ['SET aws.direct_reads = off', 'SET aws.result_cache = off'];
/** What the engine's table holds when a statement starts: read through a query string, so the bridge loads nothing. */
const rowsLeft =
  "SELECT (xpath('//n/text()', query_to_xml('SELECT count(*) AS n FROM appflow.connector_profile', false, true, '')))[1]::text AS n";
const stateLeft =
  "SELECT coalesce(current_setting('plain.leak', true), '') AS leak, (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory') AS locks";

test("a plain statement's rows never reach the next statement, plain or not", async () => {
  const [a, b] = await Promise.all([connect(), connect()]);
  try {
    for (const sql of throughTheEngine) await a.query(sql);
    for (let i = 0; i < 3; i++) {
      expect((await a.query(pointRead, [region, 'plain-a'])).rows).toEqual([
        { connector_profile_name: 'plain-a' },
      ]);
      expect((await b.query(rowsLeft)).rows).toEqual([{ n: '0' }]);
      // Not plain (a volatile function), then plain again.
      expect(
        (await a.query("SELECT pg_advisory_lock(11), set_config('plain.leak', 'yes', false)")).rows,
      ).toHaveLength(1);
      expect((await b.query(pointRead, [region, 'plain-b'])).rows).toEqual([
        { connector_profile_name: 'plain-b' },
      ]);
      expect((await b.query(stateLeft)).rows).toEqual([{ leak: '', locks: 0 }]);
      expect((await a.query(rowsLeft)).rows).toEqual([{ n: '0' }]);
    }
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

test('volatile functions in a SELECT still get the full cleanup: another session sees no lock or setting', async () => {
  const [a, b] = await Promise.all([connect(), connect()]);
  try {
    for (const sql of [
      'SELECT pg_advisory_lock(42)',
      "SELECT set_config('plain.leak', 'yes', false)",
      'SELECT 1 FROM appflow.connector_profile WHERE region = $1 AND pg_try_advisory_lock(43)',
    ]) {
      await a.query(sql, sql.includes('$1') ? [region] : []);
      expect((await b.query(stateLeft)).rows).toEqual([{ leak: '', locks: 0 }]);
    }
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

test('statement_timeout and a cancel stop a plain statement, and the session goes on', async () => {
  const c = await connect();
  try {
    for (const sql of throughTheEngine) await c.query(sql);
    const long = 'SELECT count(*) FROM generate_series(1, 1000000000)';
    await c.query("SET statement_timeout = '300ms'");
    await expect(c.query(long)).rejects.toMatchObject({
      code: '57014',
      message: 'canceling statement due to statement timeout',
    });
    await c.query('SET statement_timeout = 0');
    const running = c.query(long);
    setTimeout(() => sendCancel(stack(), c), 300);
    await expect(running).rejects.toMatchObject({ code: '57014' });
    expect((await c.query(pointRead, [region, 'plain-b'])).rows).toEqual([
      { connector_profile_name: 'plain-b' },
    ]);
    expect((await c.query(rowsLeft)).rows).toEqual([{ n: '0' }]);
  } finally {
    await c.end();
  }
});
