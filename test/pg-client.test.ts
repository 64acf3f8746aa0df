import pg from 'pg';
import { createProfiles, startStack, type Stack } from './support/stack.js';

let stack: Stack;
const names = ['p-one', 'p-two', 'p-three'];

beforeAll(async () => {
  stack = await startStack({ regions: ['us-west-2'] });
  await createProfiles(
    stack.sdk('us-west-2'),
    names.map((n, i) => ({
      ConnectorProfileName: n,
      ConnectorType: i === 0 ? 'Redshift' : 'Salesforce',
      ConnectionMode: 'Public' as const,
    })),
  );
});
afterAll(() => stack?.stop());

async function connect(extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({ ...stack.pg, ...extra });
  await client.connect();
  return client;
}

test('parameterized queries push their keys down and return typed values', async () => {
  const c = await connect();
  try {
    const r = await c.query(
      'SELECT connector_profile_name, connector_type, length(connector_profile_arn) > 0 AS has_arn FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
      ['us-west-2', 'p-one'],
    );
    expect(r.rows).toEqual([{ connector_profile_name: 'p-one', connector_type: 'Redshift', has_arn: true }]);
    const many = await c.query(
      'SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = $1 AND connector_type = $2',
      ['us-west-2', 'Salesforce'],
    );
    expect(many.rows).toEqual([{ n: 2 }]);
    const none = await c.query(
      'SELECT * FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
      ['us-west-2', 'missing'],
    );
    expect(none.rowCount).toBe(0);
    expect(none.fields.map((f) => f.name)).toContain('connector_profile_arn');
  } finally {
    await c.end();
  }
});

test('a named prepared statement runs many times with different parameters', async () => {
  const c = await connect();
  try {
    for (const n of names) {
      const r = await c.query({
        name: 'by_name',
        text: 'SELECT connector_profile_name FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
        values: ['us-west-2', n],
      });
      expect(r.rows).toEqual([{ connector_profile_name: n }]);
    }
  } finally {
    await c.end();
  }
});

test('errors come back with their SQLSTATE and the connection keeps working', async () => {
  const c = await connect();
  try {
    await expect(c.query('SELECT * FROM appflow.nope')).rejects.toMatchObject({ code: '42P01' });
    await expect(c.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
    await expect(c.query('SELECT $1::int', ['x'])).rejects.toMatchObject({ code: '22P02' });
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  } finally {
    await c.end();
  }
});

test('a failed transaction block refuses statements until ROLLBACK', async () => {
  const c = await connect();
  try {
    await c.query('BEGIN');
    await expect(c.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await c.query('ROLLBACK');
    expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  } finally {
    await c.end();
  }
});

test('20 concurrent clients interleaving SETs, prepared statements, transactions and queries see no cross-talk', async () => {
  const clients = await Promise.all(
    Array.from({ length: 20 }, (_, i) => connect({ application_name: `client-${i}` })),
  );
  try {
    await Promise.all(
      clients.map(async (c, i) => {
        const zone = i % 2 === 0 ? 'UTC' : 'Asia/Tokyo';
        await c.query(`SET TimeZone = '${zone}'`);
        await c.query(`SET application_name = 'app-${i}'`);
        await c.query(`SET my.marker = 'm${i}'`);
        for (let round = 0; round < 3; round++) {
          await c.query('BEGIN');
          await c.query(`SET LOCAL statement_timeout = '${1000 + i}s'`);
          const r = await c.query({
            name: `stmt_${i}`,
            text: "SELECT current_setting('TimeZone') AS tz, current_setting('application_name') AS app, current_setting('my.marker') AS marker, current_setting('statement_timeout') AS timeout, $1::int AS i, (SELECT count(*)::int FROM appflow.connector_profiles WHERE region = 'us-west-2') AS n",
            values: [i],
          });
          expect(r.rows).toEqual([
            { tz: zone, app: `app-${i}`, marker: `m${i}`, timeout: `${1000 + i}s`, i, n: names.length },
          ]);
          await c.query(round % 2 === 0 ? 'COMMIT' : 'ROLLBACK');
          const after = await c.query("SELECT current_setting('statement_timeout') AS timeout");
          expect(after.rows).toEqual([{ timeout: '0' }]);
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
});

test('SET inside a rolled-back block is undone; SET then COMMIT stays', async () => {
  const c = await connect();
  try {
    await c.query('BEGIN');
    await c.query("SET search_path = 'appflow'");
    await c.query('ROLLBACK');
    expect((await c.query('SHOW search_path')).rows[0].search_path).toBe('"$user", public');
    await c.query('BEGIN');
    await c.query('SET search_path = appflow, public');
    await c.query('COMMIT');
    expect((await c.query('SHOW search_path')).rows[0].search_path).toBe('appflow, public');
    const r = await c.query("SELECT count(*)::int AS n FROM connector_profiles WHERE region = 'us-west-2'");
    expect(r.rows).toEqual([{ n: 3 }]);
  } finally {
    await c.end();
  }
});

test('statement_timeout stops a long statement with 57014 and the session goes on', async () => {
  const c = await connect();
  try {
    await c.query("SET statement_timeout = '300ms'");
    const started = Date.now();
    await expect(c.query('SELECT pg_sleep(5)')).rejects.toMatchObject({
      code: '57014',
      message: 'canceling statement due to statement timeout',
    });
    expect(Date.now() - started).toBeLessThan(4000);
    await c.query('RESET statement_timeout');
    expect((await c.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
  } finally {
    await c.end();
  }
});

test('transaction characteristics: SET TRANSACTION in a block, session defaults, read-only transactions refuse writes', async () => {
  const c = await connect();
  try {
    await c.query('BEGIN');
    await c.query('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.query('COMMIT');
    await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    expect((await c.query('SHOW default_transaction_isolation')).rows).toEqual([
      { default_transaction_isolation: 'repeatable read' },
    ]);
    await c.query('BEGIN READ ONLY');
    await expect(
      c.query("DELETE FROM appflow.connector_profiles WHERE region = 'us-west-2'"),
    ).rejects.toMatchObject({ code: '25006', message: 'cannot execute DELETE in a read-only transaction' });
    await c.query('ROLLBACK');
    await c.query('SET default_transaction_read_only = on');
    await expect(
      c.query(
        "UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = 'us-west-2' AND data__identifier = 'p-one'",
      ),
    ).rejects.toMatchObject({ code: '25006' });
    const r = await c.query(
      "SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = 'us-west-2'",
    );
    expect(r.rows).toEqual([{ n: 3 }]);
  } finally {
    await c.end();
  }
});

test('catalog-wide introspection reads frozen catalog pages and sorts in memory', async () => {
  const c = await connect();
  try {
    // The template's build froze the catalogs: every page is all-visible, as that VACUUM recorded.
    const notFrozen = await c.query(
      `SELECT relname FROM pg_catalog.pg_class
        WHERE relname IN ('pg_attribute', 'pg_class', 'pg_type', 'pg_description')
          AND relallvisible <> pg_relation_size(oid) / current_setting('block_size')::int`,
    );
    expect(notFrozen.rows).toEqual([]);
    expect((await c.query('SHOW work_mem')).rows).toEqual([{ work_mem: '16MB' }]);
    // pgjdbc's getColumns(null, null, "%", "%") over every type's tables: at the default 4 MB its sorts spilled.
    const plan = await c.query(
      `EXPLAIN (ANALYZE, COSTS OFF)
       SELECT * FROM (SELECT n.nspname, c.relname, a.attname, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum,
                             pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc, dsc.description, t.typtype
                        FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid JOIN pg_catalog.pg_type t ON a.atttypid = t.oid
                        LEFT JOIN pg_catalog.pg_attrdef def ON a.attrelid = def.adrelid AND a.attnum = def.adnum
                        LEFT JOIN pg_catalog.pg_description dsc ON c.oid = dsc.objoid AND a.attnum = dsc.objsubid
                       WHERE c.relkind IN ('r', 'p', 'v', 'f', 'm') AND a.attnum > 0 AND NOT a.attisdropped) c
        ORDER BY nspname, relname, attnum`,
    );
    const sorts = plan.rows
      .map((r: Record<string, string>) => r['QUERY PLAN']!)
      .filter((line) => line.includes('Sort Method'));
    expect(sorts.length).toBeGreaterThan(0);
    expect(sorts.filter((line) => !line.includes('quicksort'))).toEqual([]);
  } finally {
    await c.end();
  }
});
