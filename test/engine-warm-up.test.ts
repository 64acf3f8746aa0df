import path from 'node:path';
import pg from 'pg';
import { engineTestCacheDir, engineTestDdl, query } from './support/engine-fixture.js';
import { eventually, jsonLogLines, projectRoot } from './support/processes.js';
import { metricsText, sample } from './support/metrics.js';
import { ONLY_CONNECTOR_PROFILES, startStack, type Stack } from './support/stack.js';

type PoolModule = typeof import('../server/engine/pool.js');
type WarmUpModule = typeof import('../server/engine/warm-up.js');

// The engines spawn their workers from dist/ (ts-jest cannot load a worker from TS sources): build first.
const { EnginePool } = (await import(path.join(projectRoot, 'dist/server/engine/pool.js'))) as PoolModule;
const { warmUp, warmUpStatements, tablesSql, sqlalchemyReflection } = (await import(
  path.join(projectRoot, 'dist/server/engine/warm-up.js')
)) as WarmUpModule;

const ddl = engineTestDdl;
const cacheDir = engineTestCacheDir;

/** The first column of the first DataRow of a reply. */
function firstValue(bytes: Buffer): string | undefined {
  for (let at = 0; at < bytes.length; at += 1 + bytes.readUInt32BE(at + 1)) {
    if (bytes[at] !== 'D'.charCodeAt(0)) continue;
    const n = bytes.readInt32BE(at + 7);
    return n < 0 ? undefined : bytes.toString('utf8', at + 11, at + 11 + n);
  }
  return undefined;
}

/** How many tables a client sees in a schema (a catalog statement, answered while the engines may be warming up). */
async function tablesIn(client: pg.Client, schema: string): Promise<number> {
  const { rows } = await client.query(
    "SELECT count(*)::int AS n FROM pg_catalog.pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r'",
    [schema],
  );
  return (rows[0] as { n: number }).n;
}

/** Whether a reply has an ErrorResponse. */
function hasError(bytes: Buffer): boolean {
  for (let at = 0; at < bytes.length; at += 1 + bytes.readUInt32BE(at + 1))
    if (bytes[at] === 'E'.charCodeAt(0)) return true;
  return false;
}

/** A bridge of its own for a describe block (with metrics): each block sees its warm-up from the start. */
function freshBridge(): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack({
      regions: ['us-east-1'],
      bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--metrics-port', '0'],
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  return () => stack!;
}

describe('warm-up of a pool engine', () => {
  test('a unit that arrives while the engine warms up interrupts the warm-up and is answered', async () => {
    const pool = await EnginePool.start({ ddl, cacheDir, engines: 1 });
    try {
      // The warm-up's first statement is posted as the pool starts: the engine is running it now.
      expect(pool.stats.perEngine[0]!.warming).toBe(true);
      const order: string[] = [];
      const warmed = pool.warmedUp.then((counts) => (order.push('warm-up done'), counts));
      const answer = await pool.run({ settings: [], load: [], messages: query('SELECT 40 + 2') });
      order.push('client answered');
      expect(firstValue(answer)).toBe('42');
      const counts = await warmed;
      // The statement the client's unit interrupted gave way (and was tried again later); the warm-up went on.
      expect(counts.gaveWay).toBeGreaterThanOrEqual(1);
      expect(counts.ran).toBeGreaterThan(0);
      expect(order).toEqual(['client answered', 'warm-up done']);
      // Giving way is not a client's cancel, and costs no restart.
      expect(pool.stats.perEngine[0]).toMatchObject({ cancels: 0, restarts: 0, warming: false });
      // The engine serves as before, with nothing left of the warm-up (each of its units is rolled back).
      const after = await pool.run({
        settings: [],
        load: [{ table: 'appflow.t', rows: [{ a: 'x', n: 1 }] }],
        messages: query("SELECT count(*) || ' ' || current_user FROM appflow.t"),
      });
      expect(firstValue(after)).toBe('1 client');
    } finally {
      await pool.close();
    }
  });

  test('the look-up of the tables is tried until it is answered, however often clients interrupt it', async () => {
    const pool = await EnginePool.start({ ddl, cacheDir, engines: 1, warmUp: false });
    try {
      // Clients' first statements at ready interrupt the first units: here the first three give way.
      let interrupted = 0;
      const counts = await warmUp(
        {
          runWhenIdle: (unit) => (++interrupted <= 3 ? Promise.resolve(undefined) : pool.runWhenIdle(unit)),
          closing: false,
        },
        false,
      );
      expect(counts.gaveWay).toBe(3);
      // The catalog's one table found, then every statement on it answered.
      const oneTable = [{ schema: 'appflow', table: 't', oid: '1' }];
      expect(counts.ran).toBe(1 + warmUpStatements(oneTable, false).length);
    } finally {
      await pool.close();
    }
  });

  test('every warm-up statement answers without an error on a catalog', async () => {
    const pool = await EnginePool.start({ ddl, cacheDir, engines: 1, warmUp: false });
    try {
      const statements = warmUpStatements([{ schema: 'appflow', table: 't', oid: '1' }]);
      expect(statements.length).toBeGreaterThan(10);
      const oid = firstValue(
        await pool.run({ settings: [], load: [], messages: query("SELECT 'appflow.t'::regclass::oid") }),
      )!;
      for (const sql of warmUpStatements([{ schema: 'appflow', table: 't', oid }])) {
        const reply = await pool.run({ settings: [], load: [], messages: query(sql) });
        // A statement that failed would warm little.
        expect(hasError(reply)).toBe(false);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('warm-up in the bridge', () => {
  const bridge = freshBridge();
  let stack: Stack;
  beforeAll(() => (stack = bridge()));

  test('each engine warms up after ready, without an AWS call, and clients are answered meanwhile', async () => {
    // A client at once, while the engines may still be warming up.
    const client = new pg.Client(stack.pg);
    await client.connect();
    try {
      expect(await tablesIn(client, 'appflow')).toBeGreaterThan(0);
      await eventually(
        'both engines warmed up',
        () => jsonLogLines(stack.bridge.output(), 'engine: warmed up').length === 2,
      );
      for (const line of jsonLogLines(stack.bridge.output(), 'engine: warmed up'))
        expect(line.statements).toBeGreaterThan(10);
      // Only catalog statements, which read no resource table: the emulator served nothing.
      expect(await stack.calls()).toEqual({});
      const { rows: columns } = await client.query(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'appflow.connector_profiles'::regclass AND attname = 'connector_profile_name'",
      );
      expect(columns).toEqual([{ attname: 'connector_profile_name' }]);
    } finally {
      await client.end();
    }
  });

  test("SQLAlchemy's per-table statements are prepared by the warm-up: a client's first one is reused at once", async () => {
    // The session path's warm-up runs last, on the first engine, and ends with those statements too.
    await eventually(
      'the engines and the session path warmed up',
      () => jsonLogLines(stack.bridge.output(), 'session path: warmed up').length === 1,
    );
    const reused = async () => {
      const body = await metricsText(stack.bridge.output);
      const of = (outcome: string) => sample(body, 'aws_sql_bridge_engine_reused_plans_total', { outcome });
      return { prepared: of('prepared'), reused: of('reused'), refused: of('refused') };
    };
    const client = new pg.Client(stack.pg);
    await client.connect();
    try {
      // The warm-up's second table: its texts differ from the first table's in the literals a client's do.
      const { rows } = await client.query(tablesSql);
      const table = (rows[0] as { json_agg: { schema: string; table: string; oid: string }[] }).json_agg[1]!;
      const before = await reused();
      const [, oidLookup, columns] = sqlalchemyReflection(table);
      expect((await client.query(oidLookup!)).rows).toEqual([{ oid: Number(table.oid) }]);
      expect((await client.query(columns!)).rows.length).toBeGreaterThan(0);
      const after = await reused();
      expect({
        prepared: after.prepared - before.prepared,
        reused: after.reused - before.reused,
        refused: after.refused - before.refused,
      }).toEqual({ prepared: 0, reused: 2, refused: 0 });
    } finally {
      await client.end();
    }
  });
});

describe("warm-up of the session path (this thread's code on a client's catalog statements)", () => {
  const bridge = freshBridge();
  let stack: Stack;
  beforeAll(() => (stack = bridge()));

  test('runs after the engines warmed up, and no client sees it: not a session, not in the metrics, no AWS call', async () => {
    await eventually(
      'the session path warmed up',
      () => jsonLogLines(stack.bridge.output(), 'session path: warmed up').length === 1,
    );
    const [line] = jsonLogLines(stack.bridge.output(), 'session path: warmed up');
    expect(line!.statements).toBeGreaterThan(10);
    expect(line!.failed).toBe(0);
    const engines = jsonLogLines(stack.bridge.output(), 'engine: warmed up');
    expect(engines).toHaveLength(2);
    expect(engines.every((e) => (e.time as number) <= (line!.time as number))).toBe(true);
    const metrics = async () => {
      const body = await metricsText(stack.bridge.output);
      return {
        statements: sample(body, 'aws_sql_bridge_statements_total'),
        resultCache: sample(body, 'aws_sql_bridge_result_cache_total'),
        reusedPlans: sample(body, 'aws_sql_bridge_engine_reused_plans_total'),
      };
    };
    expect(await metrics()).toEqual({ statements: 0, resultCache: 0, reusedPlans: 0 });
    expect(await stack.calls()).toEqual({});
    const client = new pg.Client(stack.pg);
    await client.connect();
    try {
      const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const sessions = await client.query('SELECT pid::int FROM cloud_control.sessions');
      expect(sessions.rows).toEqual([{ pid }]);
      const activity = await client.query('SELECT pid, usename FROM pg_stat_activity');
      expect(activity.rows).toEqual([{ pid, usename: stack.pg.user }]);
      // The client's own statements are counted, as before.
      expect((await metrics()).statements).toBe(3);
    } finally {
      await client.end();
    }
  });
});

describe('warm-up of the session path on the whole catalog', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ regions: ['us-east-1'] });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test("runs SQLAlchemy's per-table statements over more tables than the engines' warm-up, after a client's catalog statement at ready was answered", async () => {
    const client = new pg.Client(stack.pg);
    await client.connect();
    try {
      expect(await tablesIn(client, 'ec2')).toBeGreaterThan(100);
    } finally {
      await client.end();
    }
    await eventually(
      'the session path warmed up',
      () => jsonLogLines(stack.bridge.output(), 'session path: warmed up').length === 1,
    );
    const [line] = jsonLogLines(stack.bridge.output(), 'session path: warmed up');
    const engines = jsonLogLines(stack.bridge.output(), 'engine: warmed up');
    // Two statements (the oid, the columns) for each of 120 tables, against the engines' 24.
    expect(line!.statements).toBeGreaterThan(2 * 100);
    expect(line!.failed).toBe(0);
    for (const engine of engines) expect(engine.statements).toBeLessThan(100);
  });
});
