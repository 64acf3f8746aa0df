import { oneEngineStack } from './support/one-engine.js';

/**
 * A unit's answer goes out before the engine rolls it back and cleans up, and the next unit's transaction is
 * opened ahead of it (server/engine/worker.ts). Through node-postgres, with one engine so that every session's unit
 * follows another's on the same backend, back to back: each statement still sees its own session's settings and
 * rows, and nothing one session's unit left (settings, locks, prepared statements, cursors, temp tables, a failed
 * statement) reaches the next one.
 */
const region = 'us-east-1';
const { connect } = oneEngineStack(['settle-a', 'settle-b']);

const pointRead =
  "SELECT connector_profile_name, current_setting('settle.owner', true) AS owner, current_setting('DateStyle') AS datestyle FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2";

test('back-to-back units of several sessions each see their own settings and rows', async () => {
  const sessions = await Promise.all([connect(), connect(), connect()]);
  try {
    const styles = ['ISO, MDY', 'SQL, DMY', 'German, DMY'];
    await Promise.all(
      sessions.map(async (c, i) => {
        await c.query(`SET settle.owner = 'session-${i}'`);
        await c.query(`SET DateStyle = '${styles[i]}'`);
      }),
    );
    // node-postgres sends each session's queries one after another; the three sessions interleave on one engine.
    const answers = await Promise.all(
      sessions.map((c, i) =>
        Promise.all(
          Array.from({ length: 10 }, (_, k) =>
            c.query(pointRead, [region, k % 2 === i % 2 ? 'settle-a' : 'settle-b']),
          ),
        ),
      ),
    );
    answers.forEach((results, i) =>
      results.forEach((result, k) =>
        expect(result.rows).toEqual([
          {
            connector_profile_name: k % 2 === i % 2 ? 'settle-a' : 'settle-b',
            owner: `session-${i}`,
            datestyle: styles[i],
          },
        ]),
      ),
    );
  } finally {
    await Promise.all(sessions.map((c) => c.end()));
  }
});

test('a failed statement leaves its session usable and nothing behind for the next unit', async () => {
  const [a, b] = await Promise.all([connect(), connect()]);
  try {
    await a.query("SET settle.owner = 'a'");
    // State a rollback does not undo, then an error in the same statement's unit.
    await expect(
      a.query(
        "SELECT pg_advisory_lock(42), set_config('settle.leak', 'yes', false), 1 / (SELECT count(*) - 1 FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2)",
        [region, 'settle-a'],
      ),
    ).rejects.toMatchObject({ code: '22012' });
    await a.query('SELECT pg_advisory_lock(7)');
    // Right after, on the same engine: another session's unit sees none of it.
    const seen = await b.query(
      "SELECT coalesce(current_setting('settle.leak', true), '') AS leak, coalesce(current_setting('settle.owner', true), '') AS owner, (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory') AS locks, (SELECT count(*)::int FROM pg_prepared_statements) AS prepared, (SELECT count(*)::int FROM pg_cursors) AS cursors",
    );
    // (The engine's backend knows a custom setting's name once any unit set it: its value is empty.)
    expect(seen.rows).toEqual([{ leak: '', owner: '', locks: 0, prepared: 0, cursors: 0 }]);
    // The failed session goes on with its own settings.
    const again = await a.query(pointRead, [region, 'settle-b']);
    expect(again.rows).toEqual([{ connector_profile_name: 'settle-b', owner: 'a', datestyle: 'ISO, MDY' }]);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

test("a setting's value reaches the statement exactly, quotes and backslashes included", async () => {
  const c = await connect();
  try {
    const value = "it's a \\ test, E'\\'' -- ;";
    await c.query(`SELECT set_config('settle.odd', $1, false)`, [value]);
    await c.query('SET standard_conforming_strings = off');
    const read = await c.query(pointRead.replace("'settle.owner'", "'settle.odd'"), [region, 'settle-a']);
    expect(read.rows[0].owner).toBe(value);
  } finally {
    await c.end();
  }
});

test("now() is the statement's own start, however long the engine sat idle before it", async () => {
  const c = await connect();
  try {
    await c.query('SELECT 1');
    await new Promise((r) => setTimeout(r, 1500));
    const sent = Date.now();
    const r = await c.query('SELECT (extract(epoch FROM now()) * 1000)::float8 AS ms');
    // The engine runs in the bridge's process on this machine's clock: a transaction begun while the engine sat
    // idle would date now() to before the statement was sent (1.5 s here).
    expect(Number(r.rows[0].ms)).toBeGreaterThanOrEqual(sent - 50);
  } finally {
    await c.end();
  }
});
