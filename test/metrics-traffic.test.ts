import net from 'node:net';
import pg from 'pg';
import { metricsPortOf, sample } from './support/metrics.js';
import { createProfiles, sendCancel, startStack, type Stack } from './support/stack.js';

// Metrics after real traffic through node-postgres: logins (ok, bad password, timeout, refused), a read served by
// Cloud Control then by the cache, two identical reads coalesced, a write, throttled calls the SDK retried, a cancel.
const region = 'us-east-1';
const password = 'metrics-secret-pw';
let stack: Stack;
let metricsPort: number;

async function metrics(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

const connect = async (extra: Partial<pg.ClientConfig> = {}) => {
  const c = new pg.Client({ ...stack.pg, password, ...extra });
  await c.connect();
  return c;
};

beforeAll(async () => {
  stack = await startStack({
    regions: [region],
    bridgeArgs: [
      '--types',
      'AWS::AppFlow::*',
      '--password',
      password,
      '--metrics-port',
      '0',
      '--cache-ttl-ms',
      '60000',
      '--max-connections',
      '3',
      '--authentication-timeout',
      '1',
    ],
  });
  metricsPort = await metricsPortOf(stack.bridge.output);
  await createProfiles(
    stack.sdk(region),
    ['m-1', 'm-2', 'm-3', 'm-4'].map((name) => ({
      ConnectorProfileName: name,
      ConnectorType: 'Slack',
      ConnectionMode: 'Public',
    })),
  );
}, 180000);
afterAll(async () => {
  await stack?.stop();
});

test('connections by how startup ended: ok, bad password, timeout, refused at --max-connections', async () => {
  const before = await metrics();
  await expect(connect({ password: 'wrong' })).rejects.toMatchObject({ code: '28P01' });
  // A client that sends nothing is dropped after --authentication-timeout.
  const silent = net.connect(stack.pg.port, '127.0.0.1').resume();
  await new Promise((resolve) => silent.once('close', resolve));
  const open = [await connect(), await connect(), await connect()];
  try {
    await expect(connect()).rejects.toMatchObject({ code: '53300' });
  } finally {
    await Promise.all(open.map((c) => c.end()));
  }
  const after = await metrics();
  const grew = (outcome: string) =>
    sample(after, 'aws_sql_bridge_connections_total', { outcome }) -
    sample(before, 'aws_sql_bridge_connections_total', { outcome });
  expect(grew('bad_password')).toBe(1);
  expect(grew('timeout')).toBe(1);
  expect(grew('ok')).toBe(3);
  expect(grew('refused')).toBe(1);
  expect(after).not.toContain(password);
  expect(after).not.toContain('wrong');
}, 30000);

test('a read, then the same read from the cache, then two identical reads coalesced into one call', async () => {
  const [a, b] = [await connect(), await connect()];
  try {
    const read = (c: pg.Client, r: string) =>
      c.query('SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = $1', [r]);
    // The read cache's own lookups: with the result cache on, the repeat would be answered before any lookup.
    await a.query('SET aws.result_cache = off');
    const before = await metrics();
    expect((await read(a, region)).rows).toEqual([{ n: 4 }]);
    expect((await read(a, region)).rows).toEqual([{ n: 4 }]);
    let now = await metrics();
    const grew = (body: string, result: string) =>
      sample(body, 'aws_sql_bridge_cache_lookups_total', { result }) -
      sample(before, 'aws_sql_bridge_cache_lookups_total', { result });
    expect(grew(now, 'miss')).toBe(1);
    expect(grew(now, 'hit')).toBe(1);
    expect(sample(now, 'aws_sql_bridge_statements_total', { kind: 'select', outcome: 'ok' })).toBeGreaterThan(
      sample(before, 'aws_sql_bridge_statements_total', { kind: 'select', outcome: 'ok' }),
    );

    // A region not read yet, its list slowed: the second session joins the first one's call.
    await stack.setFaults({ latencyMs: { ListResources: 800 } });
    try {
      const first = read(a, 'eu-west-1');
      await new Promise((r) => setTimeout(r, 200));
      const both = await Promise.all([first, read(b, 'eu-west-1')]);
      expect(both.map((r) => r.rows)).toEqual([[{ n: 0 }], [{ n: 0 }]]);
    } finally {
      await stack.setFaults({ latencyMs: {} });
    }
    now = await metrics();
    expect(grew(now, 'miss')).toBe(2);
    expect(grew(now, 'coalesced')).toBe(1);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
}, 30000);

test('a write counts its statement and its CreateResource call', async () => {
  const c = await connect();
  try {
    const before = await metrics();
    const r = await c.query(
      `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode)
       VALUES ($1, 'm-written', 'Slack', 'Public')`,
      [region],
    );
    expect(r.rowCount).toBe(1);
    const after = await metrics();
    const grew = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(grew('aws_sql_bridge_statements_total', { kind: 'insert', outcome: 'ok' })).toBe(1);
    expect(
      grew('aws_sql_bridge_cloudcontrol_calls_total', {
        operation: 'CreateResource',
        region,
        type: 'AWS::AppFlow::ConnectorProfile',
        outcome: 'ok',
      }),
    ).toBe(1);
  } finally {
    await c.end();
  }
}, 30000);

test('throttled calls are counted on each attempt, with the retries the SDK made', async () => {
  const c = await connect();
  try {
    const before = await metrics();
    // Every resource read with GetResource at once (the default concurrency is 8), above 1 request per second.
    await stack.setFaults({ throttleRps: 1 });
    try {
      await c
        .query('SELECT * FROM appflow.connector_profiles WHERE region = $1', [region])
        .catch((err: pg.DatabaseError) => expect(err.message).toMatch(/thrott|rate/i));
    } finally {
      await stack.setFaults({ throttleRps: 0 });
    }
    const after = await metrics();
    const throttles =
      sample(after, 'aws_sql_bridge_cloudcontrol_throttles_total', { operation: 'GetResource', region }) -
      sample(before, 'aws_sql_bridge_cloudcontrol_throttles_total', { operation: 'GetResource', region });
    const retries =
      sample(after, 'aws_sql_bridge_cloudcontrol_retries_total', { operation: 'GetResource', region }) -
      sample(before, 'aws_sql_bridge_cloudcontrol_retries_total', { operation: 'GetResource', region });
    expect(throttles).toBeGreaterThan(0);
    expect(retries).toBeGreaterThan(0);
    expect(sample(after, 'aws_sql_bridge_engine_queue_wait_seconds_count')).toBeGreaterThan(0);
    expect(sample(after, 'aws_sql_bridge_cloudcontrol_queue_wait_seconds_count')).toBeGreaterThan(0);
  } finally {
    await c.end();
  }
}, 60000);

test('a statement cancelled with a CancelRequest counts as canceled', async () => {
  const c = await connect();
  try {
    const before = await metrics();
    await stack.setFaults({ latencyMs: { GetResource: 5000 } });
    try {
      const failed = c
        .query(
          "SELECT * FROM appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier = 'not-read-yet'",
        )
        .then(
          () => undefined,
          (err: Error) => err,
        );
      await new Promise((r) => setTimeout(r, 500));
      sendCancel(stack, c);
      expect(await failed).toMatchObject({ code: '57014' });
    } finally {
      await stack.setFaults({ latencyMs: {} });
    }
    const after = await metrics();
    const grew = (outcome: string) =>
      sample(after, 'aws_sql_bridge_statements_total', { kind: 'select', outcome }) -
      sample(before, 'aws_sql_bridge_statements_total', { kind: 'select', outcome });
    expect(grew('canceled')).toBe(1);
    expect(
      sample(after, 'aws_sql_bridge_connections_total', { outcome: 'cancel_request' }) -
        sample(before, 'aws_sql_bridge_connections_total', { outcome: 'cancel_request' }),
    ).toBe(1);
  } finally {
    await c.end();
  }
}, 30000);
