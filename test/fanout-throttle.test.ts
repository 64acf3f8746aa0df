import pg from 'pg';
import { jsonLogLines } from './support/processes.js';
import { createProfiles, ONLY_CONNECTOR_PROFILES, startStack, type Stack } from './support/stack.js';

// A fan-out (the resource table without identifiers: one GetResource per listed profile) against an emulator that
// throttles above `limit` requests a second: the bridge learns the rate from the first throttles and paces the rest,
// so the read finishes with every row, no error, and few throttled answers (counted at the emulator), not a storm.
const region = 'ca-central-1';
const limit = 20;
const profiles = 60;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ regions: [region], bridgeArgs: ONLY_CONNECTOR_PROFILES });
  await createProfiles(
    stack.sdk(region),
    Array.from({ length: profiles }, (_, i) => ({
      ConnectorProfileName: `paced-${i}`,
      ConnectorType: 'Salesforce',
      ConnectionMode: 'Public' as const,
    })),
  );
}, 120000);

afterAll(async () => {
  await stack?.stop();
});

const fanOut = `SELECT count(*)::int AS n FROM appflow.connector_profile WHERE region = '${region}'`;

async function underThrottle(port: number): Promise<{ n: number; calls: Record<string, number> }> {
  const c = new pg.Client({ ...stack.pg, port });
  await c.connect();
  c.on('notice', () => {});
  try {
    // Every call the bridge makes for a fresh session (the catalog's) is done before the throttle starts.
    await c.query('SELECT 1');
    await stack.resetCalls();
    await stack.setFaults({ throttleRps: limit });
    try {
      const { rows } = await c.query(fanOut);
      return { n: rows[0].n as number, calls: await stack.calls() };
    } finally {
      await stack.setFaults({ throttleRps: 0 });
    }
  } finally {
    await c.end();
  }
}

test('without a budget: the first fan-out learns the rate from a few throttles, the next one is paced from the start', async () => {
  const first = await underThrottle(stack.bridge.port);
  expect(first.n).toBe(profiles);
  // The learning costs the calls in flight when the service said no (at most --max-concurrency, 8), and perhaps
  // a second round if the first estimate counted calls that were still in flight; not one per call.
  expect(first.calls.ThrottlingException ?? 0).toBeGreaterThan(0);
  expect(first.calls.ThrottlingException ?? 0).toBeLessThanOrEqual(16);
  const learned = jsonLogLines(stack.bridge.output(), 'Cloud Control throttled: call rate learned');
  expect(learned.length).toBeGreaterThan(0);
  expect(learned.at(-1)).toMatchObject({ region, account: 'default' });
  expect(learned.at(-1)!.callsPerSecond).toBeLessThanOrEqual(limit + 8);

  // The same bridge knows the rate now: the second fan-out queues instead of being throttled.
  const second = await underThrottle(stack.bridge.port);
  expect(second.n).toBe(profiles);
  expect(second.calls.ThrottlingException ?? 0).toBeLessThanOrEqual(1);
}, 120000);

test('--call-budget at the service limit: calls counted when they leave, so none arrive bunched into a throttle', async () => {
  const budgeted = await stack.startBridge([...ONLY_CONNECTOR_PROFILES, '--call-budget', String(limit)]);
  try {
    const { n, calls } = await underThrottle(budgeted.port);
    expect(n).toBe(profiles);
    expect(calls.ThrottlingException ?? 0).toBeLessThanOrEqual(1);
    expect((calls.GetResource ?? 0) + (calls.ListResources ?? 0)).toBeGreaterThanOrEqual(profiles);
  } finally {
    await budgeted.stop();
  }
}, 120000);
