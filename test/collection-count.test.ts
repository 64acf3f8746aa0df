import pg from 'pg';
import { createProfiles, ONLY_CONNECTOR_PROFILES, startStack, type Stack } from './support/stack.js';

// count(*) over a collection table of many pages, through node-postgres: the statement reads no column of the
// resources themselves, so every listed resource of a region loads as one shared row repeated (rows.ts,
// engine/load-rows.ts). The answers must be the exact counts, whatever the statement does with those rows, and
// a later statement that reads every column still gets them all.
const big = 'ca-central-1';
const small = 'sa-east-1';
// The emulator pages ListResources at 25: 11 pages, the last one partial.
const bigCount = 260;
const smallCount = 30;
const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

let stack: Stack;
let client: pg.Client;

beforeAll(async () => {
  stack = await startStack({ regions: [big], bridgeArgs: ONLY_CONNECTOR_PROFILES });
  await Promise.all([
    createProfiles(
      stack.sdk(big),
      names('big', bigCount).map((name) => ({
        ConnectorProfileName: name,
        ConnectorType: 'Salesforce',
        ConnectionMode: 'Public',
      })),
    ),
    createProfiles(
      stack.sdk(small),
      names('small', smallCount).map((name, i) => ({
        ConnectorProfileName: name,
        ConnectorType: i % 3 === 0 ? 'Snowflake' : 'Salesforce',
        ConnectionMode: 'Private',
      })),
    ),
  ]);
  client = new pg.Client(stack.pg);
  await client.connect();
}, 180000);
afterAll(async () => {
  await client?.end();
  await stack?.stop();
});

test('count(*) over every page of a region is the exact count, from the list pages alone', async () => {
  await stack.resetCalls();
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = $1`,
    [big],
  );
  expect(rows).toEqual([{ n: bigCount }]);
  const calls = await stack.calls();
  expect(calls['ListResources']).toBe(Math.ceil(bigCount / 25));
  expect(calls['GetResource']).toBeUndefined();
});

test('per-region counts, a count over a self-join and the shared rows themselves are exact', async () => {
  const grouped = await client.query(
    `SELECT region, count(*)::int AS n FROM appflow.connector_profiles
      WHERE region IN ($1, $2) GROUP BY region ORDER BY region`,
    [big, small],
  );
  expect(grouped.rows).toEqual([
    { region: big, n: bigCount },
    { region: small, n: smallCount },
  ]);
  // Both references read the region alone: every pair of the small region's resources.
  const pairs = await client.query(
    `SELECT count(*)::int AS n FROM appflow.connector_profiles a, appflow.connector_profiles b
      WHERE a.region = $1 AND b.region = $1`,
    [small],
  );
  expect(pairs.rows).toEqual([{ n: smallCount * smallCount }]);
  // The bridge's default region is the big one: the merged USING column must carry the pin to both sides.
  const merged = await client.query(
    `SELECT count(*)::int AS n FROM appflow.connector_profiles a
       JOIN appflow.connector_profiles b USING (region) WHERE region = $1`,
    [small],
  );
  expect(merged.rows).toEqual([{ n: smallCount * smallCount }]);
  const plain = await client.query(
    `SELECT region, account_name FROM appflow.connector_profiles WHERE region = $1`,
    [big],
  );
  expect(plain.rows).toHaveLength(bigCount);
  expect(new Set(plain.rows.map((r) => JSON.stringify(r)))).toEqual(
    new Set([JSON.stringify({ region: big, account_name: 'default' })]),
  );
});

test('a count that reads a property, or the identifier, still sees each resource', async () => {
  const byType = await client.query(
    `SELECT connector_type, count(*)::int AS n FROM appflow.connector_profiles
      WHERE region = $1 GROUP BY 1 ORDER BY 1`,
    [small],
  );
  expect(byType.rows).toEqual([
    { connector_type: 'Salesforce', n: 20 },
    { connector_type: 'Snowflake', n: 10 },
  ]);
  const distinct = await client.query(
    `SELECT count(DISTINCT data__identifier)::int AS n FROM appflow.connector_profiles WHERE region = $1`,
    [big],
  );
  expect(distinct.rows).toEqual([{ n: bigCount }]);
});

test('in one transaction over the read cache, the narrow count and then every column of each resource', async () => {
  const cached = await stack.startBridge([...ONLY_CONNECTOR_PROFILES, '--cache-ttl-ms', '600000']);
  const c = new pg.Client({ ...stack.pg, port: cached.port });
  await c.connect();
  try {
    await stack.resetCalls();
    await c.query('BEGIN');
    const counted = await c.query(
      `SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = $1`,
      [small],
    );
    expect(counted.rows).toEqual([{ n: smallCount }]);
    const all = await c.query(
      `SELECT * FROM appflow.connector_profiles WHERE region = $1 ORDER BY connector_profile_name`,
      [small],
    );
    await c.query('COMMIT');
    expect(all.rows).toHaveLength(smallCount);
    expect(
      all.rows.map((r) => [r.connector_profile_name, r.connector_type, r.connection_mode, r.region]),
    ).toEqual(
      names('small', smallCount).map((name, i) => [
        name,
        i % 3 === 0 ? 'Snowflake' : 'Salesforce',
        'Private',
        small,
      ]),
    );
    // The list was made once, for the count; SELECT * read each listed resource for the columns it lacks.
    const calls = await stack.calls();
    expect(calls['ListResources']).toBe(Math.ceil(smallCount / 25));
    expect(calls['GetResource']).toBe(smallCount);
  } finally {
    await c.end();
    await cached.stop();
  }
});
