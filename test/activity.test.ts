import pg from 'pg';
import { startBridge, type Started } from './support/processes.js';
import { createProfiles, startStack, type Stack } from './support/stack.js';

const region = 'us-east-1';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ regions: [region], bridgeArgs: ['--types', 'AWS::AppFlow::*'] });
  await createProfiles(
    stack.sdk(region),
    ['a-1', 'a-2', 'a-3'].map((name) => ({
      ConnectorProfileName: name,
      ConnectorType: 'Slack',
      ConnectionMode: 'Public',
    })),
  );
}, 180000);
afterAll(async () => {
  await stack?.stop();
});

const connect = async (application_name: string) => {
  const c = new pg.Client({ ...stack.pg, application_name });
  await c.connect();
  return c;
};

test('cloud_control.sessions shows a session active in a slow fan-out, with its calls in flight', async () => {
  const [slow, watcher] = [await connect('slow-report'), await connect('watcher')];
  try {
    const slowPid = (await slow.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await slow.query('BEGIN');
    await stack.setFaults({ latencyMs: { GetResource: 4000 } });
    let fanOut: Promise<pg.QueryResult> | undefined;
    try {
      // SELECT * reads each listed resource with GetResource: three calls, each held 4 s by the emulator.
      fanOut = slow.query('SELECT * FROM appflow.connector_profiles WHERE region = $1', [region]);
      // Watched until the list is done and the reads are sent (the machine may be slow to get there).
      let rows: Record<string, unknown>[] = [];
      for (const until = Date.now() + 3000; Date.now() < until;) {
        ({ rows } = await watcher.query(
          `SELECT pid, usename, application_name, client_addr, state, statement_kind, calls_in_flight, calls_done,
                  statement_start <= now() AS started_before, backend_start <= statement_start AS connected_before
             FROM cloud_control.sessions ORDER BY application_name`,
        ));
        if (rows[0]?.calls_in_flight === '3') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows).toEqual([
        {
          pid: String(slowPid),
          usename: 'postgres',
          application_name: 'slow-report',
          client_addr: '127.0.0.1',
          state: 'active',
          statement_kind: 'select',
          calls_in_flight: '3',
          calls_done: '1', // the ListResources before them
          started_before: true,
          connected_before: true,
        },
        expect.objectContaining({ application_name: 'watcher', state: 'active', statement_kind: 'select' }),
      ]);
      // pg_stat_activity, where psql users and BI tools look, shows the same sessions; query is the kind only.
      const activity = await watcher.query(
        `SELECT pid, usename, application_name, state, query, wait_event_type, wait_event, backend_type
           FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
      );
      expect(activity.rows).toEqual([
        {
          pid: slowPid,
          usename: 'postgres',
          application_name: 'slow-report',
          state: 'active',
          query: '<select>',
          wait_event_type: 'IO',
          wait_event: 'CloudControlCall',
          backend_type: 'client backend',
        },
      ]);
      expect((await fanOut).rows).toHaveLength(3);
    } finally {
      await stack.setFaults({ latencyMs: {} });
      await fanOut?.catch(() => undefined);
    }
    // Done, inside a transaction block: idle in transaction, the last statement's calls all done.
    const { rows } = await watcher.query(
      'SELECT state, statement_kind, calls_in_flight, calls_done FROM cloud_control.sessions WHERE pid = $1',
      [slowPid],
    );
    expect(rows).toEqual([
      { state: 'idle in transaction', statement_kind: 'select', calls_in_flight: '0', calls_done: '4' },
    ]);
    await slow.query('ROLLBACK');
    await slow.query("SET application_name = 'renamed'");
    const after = await watcher.query(
      'SELECT application_name, state FROM cloud_control.sessions WHERE pid = $1',
      [slowPid],
    );
    expect(after.rows).toEqual([{ application_name: 'renamed', state: 'idle' }]);
  } finally {
    await Promise.all([slow.end(), watcher.end()]);
  }
}, 60000);

test('cloud_control.sessions is read-only and EXPLAIN shows no Cloud Control call for it', async () => {
  const c = await connect('ro');
  try {
    await expect(c.query('DELETE FROM cloud_control.sessions')).rejects.toMatchObject({ code: '0A000' });
    const plan = await c.query('EXPLAIN SELECT * FROM cloud_control.sessions');
    expect(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN'])).toContain(
      'Cloud Control: cloud_control.sessions: no call',
    );
  } finally {
    await c.end();
  }
}, 30000);

describe('/readyz', () => {
  let bridge: Started & { port: number };
  afterEach(async () => {
    await bridge?.stop();
  });

  const readyz = async (output: () => string) => {
    let port: number | undefined;
    while (port === undefined) {
      const m = /metrics on http:\/\/[\d.]+:(\d+)\/metrics/.exec(output());
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 50));
    }
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: r.status, body: await r.text() };
  };

  test('503 naming the cause when the AWS credential chain resolves nothing; 200 when it does', async () => {
    const args = ['--endpoint', stack.emulator.endpoint, '--region', region, '--types', 'AWS::AppFlow::*'];
    // Nothing for the SDK's default chain: no keys, no profile files, no instance metadata (off loopback).
    bridge = await startBridge([...args, '--metrics-port', '0'], {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: undefined,
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const down = await readyz(bridge.output);
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/^not ready: AWS credentials cannot be resolved \(CredentialsProviderError\)/);
    await bridge.stop();

    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    bridge = await startBridge([...args, '--metrics-port', '0'], { AWS_SECRET_ACCESS_KEY: secret });
    const up = await readyz(bridge.output);
    expect(up).toEqual({ status: 200, body: 'ready\n' });
  }, 120000);
});
