import pg from 'pg';
import { startNode, type Started } from './support/processes.js';
import { createProfiles, startStack, TYPE_NAME, type Stack } from './support/stack.js';
import { freePort } from './compat/harness.js';
import { startRedis, type StartedRedis } from './support/redis.js';

// Two bridges, one Redis (Debian's redis-server, started here on a free port), one emulator: with
// `--cache redis://...` they share one read cache and one call budget, counted at the emulator.
const region = 'ap-northeast-2';
let redis: StartedRedis;
let stack: Stack;
let second: Started & { port: number };

const bridgeArgs = () => ['--types', TYPE_NAME, '--cache', redis.url, '--cache-ttl-ms', '60000'];

beforeAll(async () => {
  redis = await startRedis();
  stack = await startStack({ regions: [region], bridgeArgs: bridgeArgs() });
  second = await stack.startBridge(bridgeArgs());
  await createProfiles(
    stack.sdk(region),
    ['shared-a', 'shared-b'].map((name) => ({
      ConnectorProfileName: name,
      ConnectorType: 'Salesforce',
      ConnectionMode: 'Public' as const,
    })),
  );
}, 300000);

afterAll(async () => {
  await second?.stop();
  await stack?.stop();
  await redis?.stop();
});

async function connect(port: number): Promise<pg.Client> {
  const c = new pg.Client({ ...stack.pg, port });
  await c.connect();
  return c;
}

const read = (identifier: string) =>
  `SELECT connection_mode FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = '${identifier}'`;

async function callsDuring(run: () => Promise<unknown>): Promise<Record<string, number>> {
  await stack.resetCalls();
  await run();
  return stack.calls();
}

test('a read through the second bridge after the first is served from the shared cache', async () => {
  const first = await connect(stack.bridge.port);
  const other = await connect(second.port);
  try {
    await first.query('SELECT cloud_control.clear_cache()');
    expect((await callsDuring(() => first.query(read('shared-a')))).GetResource).toBe(1);
    const calls = await callsDuring(async () => {
      expect((await other.query(read('shared-a'))).rows).toEqual([{ connection_mode: 'Public' }]);
    });
    expect(calls.GetResource ?? 0).toBe(0);
  } finally {
    await first.end();
    await other.end();
  }
});

test('a write through one bridge drops the shared reads: the other sees the change at once', async () => {
  const first = await connect(stack.bridge.port);
  const other = await connect(second.port);
  try {
    expect((await other.query(read('shared-b'))).rows).toEqual([{ connection_mode: 'Public' }]);
    await first.query(
      `UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = '${region}' AND data__identifier = 'shared-b'`,
    );
    expect((await other.query(read('shared-b'))).rows).toEqual([{ connection_mode: 'Private' }]);
  } finally {
    await first.end();
    await other.end();
  }
});

test('cloud_control.clear_cache() through one bridge empties the cache the other reads', async () => {
  const first = await connect(stack.bridge.port);
  const other = await connect(second.port);
  try {
    await other.query(read('shared-a'));
    expect((await callsDuring(() => other.query(read('shared-a')))).GetResource ?? 0).toBe(0);
    await first.query('SELECT cloud_control.clear_cache()');
    expect((await callsDuring(() => other.query(read('shared-a')))).GetResource).toBe(1);
  } finally {
    await first.end();
    await other.end();
  }
});

test('identical reads in flight on both bridges at once make one call', async () => {
  const first = await connect(stack.bridge.port);
  const other = await connect(second.port);
  await stack.setFaults({ latencyMs: { GetResource: 400 } });
  try {
    // Neither keeps anything of its own (without the shared cache each would call once).
    await Promise.all([first, other].map((c) => c.query('SELECT cloud_control.clear_cache()')));
    const calls = await callsDuring(async () => {
      const [a, b] = await Promise.all([first.query(read('shared-a')), other.query(read('shared-a'))]);
      expect(a.rows).toEqual(b.rows);
    });
    expect(calls.GetResource).toBe(1);
  } finally {
    await stack.setFaults({ latencyMs: {} });
    await first.end();
    await other.end();
  }
});

test('the shared call budget keeps both bridges together under the throttle: no ThrottlingException', async () => {
  // 30 profiles, each read with GetResource by both bridges afresh (31 calls or more: what they share is sent
  // once). The emulator admits 20 a second; the bridges budget 10 between them (about 6 s), half the limit, since
  // a timer that fires late on a loaded machine sends its call together with the next ones. Each bridge alone
  // would send its calls as fast as 8 at a time go.
  const names = Array.from({ length: 30 }, (_, i) => `budget-${i}`);
  await createProfiles(
    stack.sdk(region),
    names.map((name) => ({
      ConnectorProfileName: name,
      ConnectorType: 'Slack',
      ConnectionMode: 'Public' as const,
    })),
  );
  const budgeted = [
    await stack.startBridge([...bridgeArgs(), '--call-budget', '10']),
    await stack.startBridge([...bridgeArgs(), '--call-budget', '10']),
  ];
  const clients = await Promise.all(budgeted.map((b) => connect(b.port)));
  await stack.setFaults({ throttleRps: 20 });
  try {
    const fanOut = `SELECT count(*)::int AS n FROM appflow.connector_profile WHERE region = '${region}' AND connector_type = 'Slack'`;
    let results: pg.QueryResult[] = [];
    const started = Date.now();
    const calls = await callsDuring(async () => {
      results = await Promise.all(
        clients.map(async (c) => {
          await c.query('SET aws.cache_ttl = 0');
          return c.query(fanOut);
        }),
      );
    });
    const seconds = (Date.now() - started) / 1000;
    expect(results.map((r) => r.rows[0].n)).toEqual([30, 30]);
    expect(calls.ThrottlingException ?? 0).toBe(0);
    const sent = (calls.GetResource ?? 0) + (calls.ListResources ?? 0);
    expect(sent).toBeGreaterThanOrEqual(31);
    // The budget is what paced them: the calls took about as long as 10 a second allows (not faster).
    expect(sent / seconds).toBeLessThanOrEqual(10 * 1.1);
  } finally {
    await stack.setFaults({ throttleRps: 0 });
    await Promise.all(clients.map((c) => c.end()));
    await Promise.all(budgeted.map((b) => b.stop()));
  }
}, 120000);

test('a --cache Redis that does not answer stops the start with a clear message and no password', async () => {
  const port = await freePort();
  const start = startNode(
    'server/main.js',
    [
      '--port',
      '0',
      '--endpoint',
      stack.emulator.endpoint,
      '--cache',
      `redis://:hunter2secret@127.0.0.1:${port}`,
    ],
    /listening on/,
  );
  await expect(start).rejects.toThrow(/--cache redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?: Redis does not answer/);
  await expect(start).rejects.not.toThrow(/hunter2secret/);
});
