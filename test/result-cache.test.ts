import { UpdateResourceCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { metricsPortOf, sample } from './support/metrics.js';
import {
  createProfiles,
  ONLY_CONNECTOR_PROFILES,
  startStack,
  TYPE_NAME,
  type Stack,
} from './support/stack.js';

// The result cache, through node-postgres: a repeated SELECT over unchanged fetched rows is answered with the kept
// answer (counted as a hit on /metrics, the engine not used), and every change that could alter the answer gives
// the new one: writes, AWS changing once the read cache's TTL has passed, clear_cache(), settings, parameters;
// volatile and clock-reading statements and pg_stat_activity are never kept.
const region = 'ap-south-1';
let stack: Stack;
let metricsPort: number;

beforeAll(async () => {
  // A server TTL long enough that only the session's settings and writes make the bridge read again.
  stack = await startStack({
    regions: [region],
    bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--cache-ttl-ms', '600000', '--metrics-port', '0'],
  });
  metricsPort = await metricsPortOf(stack.bridge.output);
  await createProfiles(
    stack.sdk(region),
    ['rc-a', 'rc-b', 'rc-c', 'rc-d'].map((name) => ({
      ConnectorProfileName: name,
      ConnectorType: 'Salesforce',
      ConnectionMode: 'Public',
    })),
  );
}, 180000);
afterAll(() => stack?.stop());

async function connect(): Promise<pg.Client> {
  const c = new pg.Client(stack.pg);
  await c.connect();
  return c;
}

async function hits(): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return sample(body, 'aws_sql_bridge_result_cache_total', { outcome: 'hit' });
}

/** The rows of `run`, and how many of its statements the result cache answered. */
async function counted<T>(run: () => Promise<T>): Promise<{ value: T; hits: number }> {
  const before = await hits();
  const value = await run();
  return { value, hits: (await hits()) - before };
}

const byId = {
  name: 'rc-by-id',
  text: `SELECT connector_profile_name, connection_mode FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = $1`,
};
const read = (c: pg.Client, id: string) => c.query({ ...byId, values: [id] }).then((r) => r.rows);

test('a repeated prepared SELECT by identifier is answered from the kept answer, with the same rows', async () => {
  const c = await connect();
  try {
    const first = await counted(() => read(c, 'rc-a'));
    expect(first.value).toEqual([{ connector_profile_name: 'rc-a', connection_mode: 'Public' }]);
    const again = await counted(() => read(c, 'rc-a'));
    expect(again).toEqual({ value: first.value, hits: 1 });
    // Another parameter value is another answer.
    const other = await counted(() => read(c, 'rc-b'));
    expect(other).toEqual({
      value: [{ connector_profile_name: 'rc-b', connection_mode: 'Public' }],
      hits: 0,
    });
    // The simple protocol keeps its own (text) answer; sent again it is a hit as well.
    const sql = `SELECT connector_type FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = 'rc-a'`;
    await c.query(sql);
    expect(await counted(() => c.query(sql).then((r) => r.rows))).toEqual({
      value: [{ connector_type: 'Salesforce' }],
      hits: 1,
    });
  } finally {
    await c.end();
  }
});

test('an UPDATE through the bridge gives the new answer', async () => {
  const c = await connect();
  try {
    await read(c, 'rc-c');
    await c.query(
      `UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = '${region}' AND data__identifier = 'rc-c'`,
    );
    expect(await counted(() => read(c, 'rc-c'))).toEqual({
      value: [{ connector_profile_name: 'rc-c', connection_mode: 'Private' }],
      hits: 0,
    });
  } finally {
    await c.end();
  }
});

test("a change made at AWS is seen once the read cache's TTL (aws.cache_ttl) has passed", async () => {
  const c = await connect();
  try {
    await c.query("SET aws.cache_ttl = '300ms'");
    expect(await read(c, 'rc-d')).toEqual([{ connector_profile_name: 'rc-d', connection_mode: 'Public' }]);
    await stack.sdk(region).send(
      new UpdateResourceCommand({
        TypeName: TYPE_NAME,
        Identifier: 'rc-d',
        PatchDocument: JSON.stringify([{ op: 'replace', path: '/ConnectionMode', value: 'Private' }]),
      }),
    );
    await new Promise((r) => setTimeout(r, 400));
    expect(await counted(() => read(c, 'rc-d'))).toEqual({
      value: [{ connector_profile_name: 'rc-d', connection_mode: 'Private' }],
      hits: 0,
    });
  } finally {
    await c.end();
  }
});

test('clear_cache() makes the next statement read AWS again and compute its answer', async () => {
  const c = await connect();
  try {
    await read(c, 'rc-a');
    expect((await counted(() => read(c, 'rc-a'))).hits).toBe(1);
    await c.query('SELECT cloud_control.clear_cache()');
    const before = (await stack.calls()).GetResource ?? 0;
    expect((await counted(() => read(c, 'rc-a'))).hits).toBe(0);
    expect((await stack.calls()).GetResource).toBe(before + 1);
  } finally {
    await c.end();
  }
});

test('a setting that changes the output gives the new answer: TimeZone, extra_float_digits', async () => {
  const c = await connect();
  try {
    const stamp = {
      name: 'rc-stamp',
      text: `SELECT '2024-01-01 12:00:00+00'::timestamptz::text AS t, (0.1::float8 + 0.2::float8)::text AS f, connection_mode
             FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = $1`,
      values: ['rc-a'],
    };
    await c.query("SET TimeZone = 'UTC'");
    expect((await c.query(stamp)).rows[0]).toMatchObject({
      t: '2024-01-01 12:00:00+00',
      f: '0.30000000000000004',
    });
    expect((await counted(() => c.query(stamp))).hits).toBe(1);
    await c.query("SET TimeZone = 'Asia/Kolkata'");
    expect(await counted(() => c.query(stamp).then((r) => r.rows[0].t))).toEqual({
      value: '2024-01-01 17:30:00+05:30',
      hits: 0,
    });
    await c.query('SET extra_float_digits = 0');
    expect(await counted(() => c.query(stamp).then((r) => r.rows[0].f))).toEqual({ value: '0.3', hits: 0 });
  } finally {
    await c.end();
  }
});

test('now(), random(), a "now" literal and pg_stat_activity are never kept: each execution computes anew', async () => {
  const c = await connect();
  try {
    const twice = async (text: string) => {
      const q = { text, values: ['rc-a'] };
      const first = (await c.query(q)).rows[0];
      await new Promise((r) => setTimeout(r, 20));
      return counted(async () => [first, (await c.query(q)).rows[0]]);
    };
    const where = `FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = $1`;
    const clock = await twice(`SELECT now()::text AS v ${where}`);
    expect(clock.hits).toBe(0);
    expect(clock.value[0].v).not.toBe(clock.value[1].v);
    const dice = await twice(`SELECT random() AS v ${where}`);
    expect(dice.hits).toBe(0);
    expect(dice.value[0].v).not.toBe(dice.value[1].v);
    const literal = await twice(`SELECT 'now'::timestamptz::text AS v ${where}`);
    expect(literal.hits).toBe(0);
    expect(literal.value[0].v).not.toBe(literal.value[1].v);
    const stamp = await twice(`SELECT CURRENT_TIMESTAMP::text AS v ${where}`);
    expect(stamp.hits).toBe(0);
    expect(stamp.value[0].v).not.toBe(stamp.value[1].v);
    // A parameter read as a date/time at the moment it runs.
    const param = { text: 'SELECT $1::timestamptz::text AS v', values: ['now'] };
    const first = (await c.query(param)).rows[0].v;
    await new Promise((r) => setTimeout(r, 20));
    expect(await counted(() => c.query(param).then((r) => r.rows[0].v === first))).toEqual({
      value: false,
      hits: 0,
    });
    const activity = 'SELECT state, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()';
    await c.query(activity);
    expect(await counted(() => c.query(activity).then((r) => r.rows[0].state))).toEqual({
      value: 'active',
      hits: 0,
    });
  } finally {
    await c.end();
  }
});

test('cloud_control.resource_requests and age() of one argument are computed each time', async () => {
  const c = await connect();
  try {
    const requests = {
      text: 'SELECT count(*)::int AS n FROM cloud_control.resource_requests WHERE region = $1',
      values: [region],
    };
    const before = (await c.query(requests)).rows[0].n;
    await createProfiles(stack.sdk(region), [
      { ConnectorProfileName: 'rc-new', ConnectorType: 'Salesforce', ConnectionMode: 'Public' },
    ]);
    expect(await counted(() => c.query(requests).then((r) => r.rows[0].n))).toEqual({
      value: before + 1,
      hits: 0,
    });
    const age = {
      text: `SELECT age('2000-01-01'::timestamp)::text AS v FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = $1`,
      values: ['rc-a'],
    };
    await c.query(age);
    expect((await counted(() => c.query(age))).hits).toBe(0);
  } finally {
    await c.end();
  }
});

test('an answer with rows missing (aws.partial_results) is not kept: the next one has them', async () => {
  const c = await connect();
  const warnings: string[] = [];
  c.on('notice', (n) => {
    if (n.severity === 'WARNING') warnings.push(n.message ?? '');
  });
  try {
    await c.query('SET aws.partial_results = on');
    const count = {
      text: 'SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = $1',
      values: [region],
    };
    await stack.setFaults({ denyOperations: ['ListResources'] });
    try {
      expect((await c.query(count)).rows).toEqual([{ n: 0 }]);
      expect(warnings).toHaveLength(1);
    } finally {
      await stack.setFaults({ denyOperations: [] });
    }
    const again = await counted(() => c.query(count).then((r) => r.rows[0].n));
    expect(again.hits).toBe(0);
    expect(again.value).toBeGreaterThanOrEqual(4);
    expect(warnings).toHaveLength(1);
  } finally {
    await c.end();
  }
});

test("pg_backend_pid() is each session's own, though sessions share other answers", async () => {
  const [a, b] = [await connect(), await connect()];
  try {
    const pid = `SELECT pg_backend_pid() AS pid, connection_mode FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = 'rc-a'`;
    const pa = (await a.query(pid)).rows[0].pid;
    const pb = await counted(() => b.query(pid).then((r) => r.rows[0].pid));
    expect(pb).toEqual({ value: expect.any(Number), hits: 0 });
    expect(pb.value).not.toBe(pa);
    expect(await counted(() => a.query(pid).then((r) => r.rows[0].pid))).toEqual({ value: pa, hits: 1 });
    // Without it, a second session with the same settings is answered with what the first computed.
    const shared = `SELECT connection_mode FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = 'rc-b'`;
    await a.query(shared);
    expect((await counted(() => b.query(shared))).hits).toBe(1);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

test('catalog queries are kept too; SET aws.result_cache = off computes every answer', async () => {
  const c = await connect();
  try {
    const tables = {
      name: 'rc-tables',
      text: 'SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND pg_catalog.pg_table_is_visible(c.oid) IS NOT NULL ORDER BY 1',
      values: ['appflow'],
    };
    const first = (await c.query(tables)).rows;
    expect(first.map((r) => r.relname)).toContain('connector_profile');
    expect(await counted(() => c.query(tables).then((r) => r.rows))).toEqual({ value: first, hits: 1 });
    await c.query('SET aws.result_cache = off');
    expect(await counted(() => c.query(tables).then((r) => r.rows))).toEqual({ value: first, hits: 0 });
    await expect(c.query("SET aws.result_cache = 'sometimes'")).rejects.toMatchObject({
      code: '22023',
      message: expect.stringContaining('aws.result_cache'),
    });
    await c.query('RESET aws.result_cache');
    expect((await counted(() => c.query(tables))).hits).toBe(1);
  } finally {
    await c.end();
  }
});

test('EXPLAIN ANALYZE runs for real after the same SELECT was kept', async () => {
  const c = await connect();
  try {
    await read(c, 'rc-b');
    expect((await counted(() => read(c, 'rc-b'))).hits).toBe(1);
    const plan = await counted(() =>
      c
        .query({ text: `EXPLAIN ANALYZE ${byId.text}`, values: ['rc-b'] })
        .then((r) => r.rows.map((row) => row['QUERY PLAN'] as string).join('\n')),
    );
    expect(plan.hits).toBe(0);
    expect(plan.value).toMatch(/actual time=/);
    expect(plan.value).toMatch(/Cloud Control: appflow\.connector_profile \(actual time=/);
  } finally {
    await c.end();
  }
});
