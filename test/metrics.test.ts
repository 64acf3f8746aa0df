import http from 'node:http';
import pg from 'pg';
import { startBridge, startEmulator, type Started } from './support/processes.js';

const region = 'us-east-1';
let emulator: Started & { endpoint: string };
let bridge: Started & { port: number };
let metricsPort: number;

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: metricsPort, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  emulator = await startEmulator(['--sample-data', '--deny-operation', 'GetResource']);
  bridge = await startBridge([
    '--endpoint',
    emulator.endpoint,
    '--region',
    region,
    '--types',
    'AWS::AppFlow::*',
    '--metrics-port',
    '0',
    '--cache-ttl-ms',
    '0',
  ]);
  for (;;) {
    const m = /metrics on http:\/\/[\d.]+:(\d+)\/metrics/.exec(bridge.output());
    if (m) {
      metricsPort = Number(m[1]);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}, 120000);
afterAll(async () => {
  await bridge?.stop();
  await emulator?.stop();
});

test('/healthz and /readyz answer 200 while serving; other paths 404', async () => {
  expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
  expect(await get('/readyz')).toEqual({ status: 200, body: 'ready\n' });
  expect((await get('/nope')).status).toBe(404);
});

test('/metrics counts statements by kind and outcome, Cloud Control calls by outcome, and connections', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: bridge.port, database: 'aws', user: 'postgres' });
  await c.connect();
  try {
    const r = await c.query('SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = $1', [
      region,
    ]);
    expect(r.rows[0].n).toBeGreaterThan(0);
    // GetResource is denied by the emulator: an error statement and an AccessDeniedException call.
    await expect(
      c.query(
        "SELECT * FROM appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier = 'salesforce-prod'",
      ),
    ).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('denied') });
    await expect(c.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    const { status, body } = await get('/metrics');
    expect(status).toBe(200);
    const value = (line: RegExp) =>
      Number(
        body
          .split('\n')
          .find((l) => line.test(l))
          ?.split(' ')
          .pop(),
      );
    expect(value(/^aws_sql_bridge_statements_total\{kind="\w+",outcome="ok"\}/)).toBeGreaterThanOrEqual(1);
    expect(value(/^aws_sql_bridge_statements_total\{kind="\w+",outcome="error"\}/)).toBeGreaterThanOrEqual(2);
    expect(
      value(
        /^aws_sql_bridge_cloudcontrol_calls_total\{operation="ListResources",region="us-east-1",type="AWS::AppFlow::ConnectorProfile",outcome="ok"\}/,
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(
        /^aws_sql_bridge_cloudcontrol_calls_total\{operation="GetResource",region="us-east-1",type="AWS::AppFlow::ConnectorProfile",outcome="AccessDeniedException"\}/,
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(/^aws_sql_bridge_statement_duration_seconds_count\{kind="\w+",outcome="ok"\}/),
    ).toBeGreaterThanOrEqual(1);
    expect(value(/^aws_sql_bridge_connections_total\{outcome="ok"\}/)).toBeGreaterThanOrEqual(1);
    expect(value(/^aws_sql_bridge_sessions_open /)).toBe(1);
    // No statement text in labels.
    expect(body).not.toContain('salesforce-prod');
  } finally {
    await c.end();
  }
});
