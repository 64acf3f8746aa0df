import type pg from 'pg';
import { sendCancel } from './support/stack.js';
import { oneEngineStack } from './support/one-engine.js';
import { metricsText, sample } from './support/metrics.js';

/**
 * Statement texts that differ only in literals (a catalog browser's per-table statements) run in the engine as one
 * prepared statement bound with each text's values (server/engine/reused-plans.ts, plan/literal-template.ts).
 * Through node-postgres simple Queries, one engine: each answer must be the one the text gets alone. The reference
 * is the same text with a comment of its own, a shape never seen before, so it runs as it is.
 */
const { stack, connect } = oneEngineStack(['reuse-a', 'reuse-b'], ['--metrics-port', '0']);

async function metrics(): Promise<string> {
  return metricsText(stack().bridge.output);
}

/** The engine's reused-plan outcomes so far (aws_sql_bridge_engine_reused_plans_total). */
async function outcomes(): Promise<Record<'prepared' | 'reused' | 'refused', number>> {
  const body = await metrics();
  const of = (outcome: string) => sample(body, 'aws_sql_bridge_engine_reused_plans_total', { outcome });
  return { prepared: of('prepared'), reused: of('reused'), refused: of('refused') };
}

/** How the outcomes changed while `run` ran. */
async function outcomesOf(run: () => Promise<void>): Promise<Record<string, number>> {
  const before = await outcomes();
  await run();
  const after = await outcomes();
  return {
    prepared: after.prepared - before.prepared,
    reused: after.reused - before.reused,
    refused: after.refused - before.refused,
  };
}

let client: pg.Client;
beforeAll(async () => {
  client = await connect();
  // The stack may stop first (its afterAll): the end of the connection is no failure of a test.
  client.on('error', () => {});
});
afterAll(() => client?.end());

let unique = 0;
/** The text alone: a comment of its own inside (one around it is cut) makes a shape seen for the first time. */
const alone = (sql: string) => client.query(sql.replace(/^SELECT/, `SELECT /* alone ${unique++} */`));

async function sameAsAlone(sql: string): Promise<pg.QueryResult> {
  const [reused, reference] = [await client.query(sql), await alone(sql)];
  expect(reused.rows).toEqual(reference.rows);
  expect(reused.fields.map((f) => [f.name, f.dataTypeID])).toEqual(
    reference.fields.map((f) => [f.name, f.dataTypeID]),
  );
  expect(reused.command).toBe(reference.command);
  return reused;
}

async function errorOf(run: Promise<unknown>): Promise<Record<string, unknown>> {
  const err = (await run.then(
    () => undefined,
    (e: unknown) => e,
  )) as (Error & Record<string, unknown>) | undefined;
  expect(err).toBeDefined();
  return { code: err!.code, message: err!.message, position: err!.position };
}

const tables = ['connector_profile', 'connector_profiles', 'flow', 'flows', 'connector', 'connectors'];

test('per-table catalog statements give the rows and types each text gets alone', async () => {
  const counted = await outcomesOf(async () => {
    for (const table of tables) {
      const oid = await sameAsAlone(`SELECT c.oid, c.relname, c.relkind FROM pg_catalog.pg_class c
        LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE (n.nspname = 'appflow') AND c.relname = '${table}' AND c.relkind in ('r', 'v', 'm', 'f', 'p')`);
      expect(oid.rows).toHaveLength(1);
      const columns = await sameAsAlone(`SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
        a.attnotnull, pgd.description AS comment,
        (SELECT json_build_object('always', a.attidentity = 'a', 'start', 1)) AS identity
        FROM pg_catalog.pg_attribute a
        LEFT JOIN pg_catalog.pg_description pgd ON (pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum)
        WHERE a.attrelid = ${oid.rows[0].oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`);
      expect(columns.rows.length).toBeGreaterThan(3);
    }
  });
  // The first text of each is seen alone; the second prepares the statement, the four others reuse it.
  expect(counted).toEqual({ prepared: 2, reused: 8, refused: 0 });
});

test('literals of every form: integers, bigints, decimals, strings, quotes inside, NULL results', async () => {
  for (const [i, s] of [
    [1, "it''s"],
    [2, 'plain'],
    [3, ''],
    [4, 'x'],
  ] as const) {
    await sameAsAlone(
      `SELECT ${i} AS n, 3000000000${i} AS big, 99999999999999999999${i} AS huge, ${i}.50 AS d, 'v ${s}' AS s,
       length('${s}') AS l, 'a' = '${s}' AS same, NULLIF('${s}', 'x') AS maybe`,
    );
  }
});

test('a negated 2147483648 is an integer and a negated 9223372036854775808 a bigint, as in the text alone', async () => {
  for (const [lo, lo8] of [
    ['2147483649', '9223372036854775809'],
    ['2147483648', '9223372036854775808'],
  ])
    await sameAsAlone(`SELECT -${lo} AS lo, -${lo8} AS lo8`);
});

test("a literal whose type as a parameter would differ is never reused: the text's own answer", async () => {
  const counted = await outcomesOf(async () => {
    for (const s of ['a', 'b', 'c', 'd']) {
      // A parameter there has no type to infer (an unknown-typed literal stays unknown): the engine refuses it.
      expect((await sameAsAlone(`SELECT '${s}' IS NULL AS n, 'x' || 'y' AS cat`)).rows).toEqual([
        { n: false, cat: 'xy' },
      ]);
      // pg_typeof's argument is never a parameter (an argument may be an item of a list: see literals.ts).
      expect((await sameAsAlone(`SELECT pg_typeof('${s}')::text AS t`)).rows).toEqual([{ t: 'unknown' }]);
    }
  });
  // Refused when first prepared, then known: the same three times.
  expect(counted).toEqual({ prepared: 0, reused: 0, refused: 3 });
  // Positions in ORDER BY stay what they are; the LIKE pattern is a parameter.
  for (const s of ['a', 'c', 'f'])
    await sameAsAlone(
      `SELECT relname, relkind FROM pg_catalog.pg_class WHERE relnamespace = 'appflow'::regnamespace
       AND relname LIKE '${s}%' ORDER BY 2, 1 DESC`,
    );
});

test("an error in a reused statement is the text's own error, position included", async () => {
  for (const v of ['1', '2', '3']) await sameAsAlone(`SELECT '${v}'::int AS v, 10 / ${v} AS q`);
  // The reference's comment moves the position: the literal is at 8 in the text itself.
  const { position, ...reference } = await errorOf(alone("SELECT 'abc'::int AS v, 10 / 4 AS q"));
  expect(position).toBe(String(8 + '/* alone 0 */ '.length + String(unique - 1).length - 1));
  expect(await errorOf(client.query("SELECT 'abc'::int AS v, 10 / 4 AS q"))).toEqual({
    ...reference,
    position: '8',
  });
  expect(await errorOf(client.query("SELECT '5'::int AS v, 10 / 0 AS q"))).toEqual(
    await errorOf(alone("SELECT '5'::int AS v, 10 / 0 AS q")),
  );
  // And the session goes on, reusing.
  await sameAsAlone("SELECT '7'::int AS v, 10 / 7 AS q");
});

test('a changed search_path or setting is seen by the reused statement', async () => {
  const probe = (n: number) =>
    `SELECT current_schemas(false)::text AS path, current_setting('DateStyle') AS style, ${n} AS n,
     '2024-03-0${n}'::date::text AS day, to_regclass('connector_profile') IS NOT NULL AS found`;
  for (const n of [1, 2, 3]) await sameAsAlone(probe(n));
  await client.query('SET search_path = appflow, public');
  await client.query("SET DateStyle = 'SQL, DMY'");
  const after = await sameAsAlone(probe(4));
  expect(after.rows[0]).toMatchObject({ path: '{appflow,public}', style: 'SQL, DMY', found: true });
  await client.query('RESET search_path');
  await client.query('RESET DateStyle');
  expect((await sameAsAlone(probe(5))).rows[0]).toMatchObject({ path: '{public}', found: false });
});

test("the engine's prepared statements are nobody's: not in pg_prepared_statements, its function refused", async () => {
  for (const n of [1, 2, 3]) await client.query(`SELECT ${n} AS n FROM pg_catalog.pg_class LIMIT 1`);
  const other = await connect();
  try {
    expect((await other.query('SELECT count(*)::int AS n FROM pg_prepared_statements')).rows).toEqual([
      { n: 0 },
    ]);
    expect(await errorOf(other.query('SELECT * FROM pg_prepared_statement()'))).toMatchObject({
      code: '42501',
    });
    // A client's own named statements still work beside them (node-postgres prepares named ones).
    for (const v of [1, 2])
      expect((await other.query({ name: 'mine', text: 'SELECT $1::int AS v', values: [v] })).rows).toEqual([
        { v },
      ]);
  } finally {
    await other.end();
  }
  await sameAsAlone('SELECT 4 AS n FROM pg_catalog.pg_class LIMIT 1');
});

test('statement_timeout and a cancel stop a reused statement, and the session goes on', async () => {
  const long = (n: number) => `SELECT count(*) FROM generate_series(1, 1000000000) AS g WHERE g > ${n}`;
  await client.query("SET statement_timeout = '300ms'");
  for (const n of [1, 2, 3])
    expect(await errorOf(client.query(long(n)))).toMatchObject({
      code: '57014',
      message: 'canceling statement due to statement timeout',
    });
  await client.query('SET statement_timeout = 0');
  const running = client.query(long(4));
  setTimeout(() => sendCancel(stack(), client), 300);
  expect(await errorOf(running)).toMatchObject({ code: '57014' });
  await sameAsAlone('SELECT count(*) FROM generate_series(1, 10) AS g WHERE g > 5');
});

test("a statement reading the bridge's tables is never taken for another text of its shape: each pins its own key", async () => {
  for (const name of ['reuse-a', 'reuse-b', 'reuse-a', 'reuse-b'])
    expect(
      (
        await client.query(
          `SELECT connector_profile_name FROM appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier = '${name}'`,
        )
      ).rows,
    ).toEqual([{ connector_profile_name: name }]);
});

test("a literal read at the moment it runs ('now') keeps a text of a kept shape from the result cache", async () => {
  await client.query("SET aws.cache_ttl = '1min'");
  try {
    const hits = async () => sample(await metrics(), 'aws_sql_bridge_result_cache_total', { outcome: 'hit' });
    const at = (day: string) =>
      `SELECT '${day}'::timestamptz::text AS t, 1 AS n FROM pg_catalog.pg_class LIMIT 1`;
    // The shape is seen, then taken by the next texts; a fixed date's answer is kept.
    for (const day of ['2020-01-01', '2020-01-02', '2020-01-02']) await client.query(at(day));
    const before = await hits();
    await client.query(at('2020-01-02'));
    expect(await hits()).toBe(before + 1);
    const first = (await client.query(at('now'))).rows[0].t;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = (await client.query(at('now'))).rows[0].t;
    expect(second).not.toBe(first);
  } finally {
    await client.query('RESET aws.cache_ttl');
  }
});

test('sessions interleaving texts of one shape each get their own answer', async () => {
  const others = await Promise.all([connect(), connect()]);
  try {
    const names = (
      await client.query(
        "SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = 'appflow'::regnamespace",
      )
    ).rows.map((r: { relname: string }) => r.relname);
    const lookups = (c: pg.Client, offset: number) =>
      (async () => {
        for (let i = 0; i < 24; i++) {
          const name = names[(i + offset) % names.length]!;
          const { rows } = await c.query(
            `SELECT c.relname, n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = '${name}' AND n.nspname = 'appflow'`,
          );
          expect(rows).toEqual([{ relname: name, nspname: 'appflow' }]);
        }
      })();
    await Promise.all([lookups(others[0]!, 0), lookups(others[1]!, 3), lookups(client, 5)]);
  } finally {
    await Promise.all(others.map((c) => c.end()));
  }
});
