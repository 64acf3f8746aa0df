import pg from 'pg';
import { createProfiles, ONLY_CONNECTOR_PROFILES, startStack, type Stack } from './support/stack.js';

// The session's control of the read cache (aws.cache_ttl, cloud_control.clear_cache()), through node-postgres,
// counted at the emulator: each GetResource the bridge sends is one the emulator serves.
const region = 'eu-north-1';
let stack: Stack;

beforeAll(async () => {
  // A server TTL long enough that only the session's settings make the bridge read again.
  stack = await startStack({
    regions: [region],
    bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--cache-ttl-ms', '600000'],
  });
  await createProfiles(stack.sdk(region), [
    { ConnectorProfileName: 'cache-a', ConnectorType: 'Salesforce', ConnectionMode: 'Public' },
  ]);
});
afterAll(() => stack?.stop());

async function connect(port = stack.pg.port): Promise<pg.Client> {
  const c = new pg.Client({ ...stack.pg, port });
  await c.connect();
  return c;
}

const pointRead = `SELECT connection_mode FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = 'cache-a'`;

/** How many GetResource calls the emulator served while `run` ran. */
async function getsDuring(run: () => Promise<unknown>): Promise<number> {
  const before = (await stack.calls()).GetResource ?? 0;
  await run();
  return ((await stack.calls()).GetResource ?? 0) - before;
}

async function failureOf(query: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await query;
  } catch (err) {
    return err as { code: string; message: string; hint?: string };
  }
  throw new Error('the statement succeeded');
}

test('the server TTL is the default: SHOW shows it, and a repeated read is served from the cache', async () => {
  const c = await connect();
  try {
    expect((await c.query('SHOW aws.cache_ttl')).rows).toEqual([{ 'aws.cache_ttl': '600s' }]);
    expect(await getsDuring(() => c.query(pointRead))).toBeLessThanOrEqual(1);
    expect(await getsDuring(() => c.query(pointRead))).toBe(0);
  } finally {
    await c.end();
  }
});

test('SET aws.cache_ttl = 0 reads afresh on every statement of that session only; RESET goes back', async () => {
  const c = await connect();
  const other = await connect();
  try {
    await c.query(pointRead);
    await c.query('SET aws.cache_ttl = 0');
    expect(await getsDuring(() => c.query(pointRead))).toBe(1);
    expect(await getsDuring(() => c.query(pointRead))).toBe(1);
    expect(await getsDuring(() => other.query(pointRead))).toBe(0);
    await c.query('RESET aws.cache_ttl');
    expect((await c.query('SHOW aws.cache_ttl')).rows[0]['aws.cache_ttl']).toBe('600s');
    expect(await getsDuring(() => c.query(pointRead))).toBe(0);
  } finally {
    await c.end();
    await other.end();
  }
});

test('SET LOCAL aws.cache_ttl = 0 bypasses the cache for one transaction, and its fresh read is kept', async () => {
  const c = await connect();
  try {
    await c.query(pointRead);
    await c.query('BEGIN');
    await c.query('SET LOCAL aws.cache_ttl = 0');
    expect(await getsDuring(() => c.query(pointRead))).toBe(1);
    await c.query('COMMIT');
    expect(await getsDuring(() => c.query(pointRead))).toBe(0);
  } finally {
    await c.end();
  }
});

test('a short session TTL reads again once the kept result is older than it; a long one keeps it', async () => {
  const c = await connect();
  try {
    await c.query(pointRead);
    // Older than 10 ms, whatever the machine's load.
    await new Promise((r) => setTimeout(r, 50));
    await c.query(`SET aws.cache_ttl = '10ms'`);
    expect(await getsDuring(() => c.query(pointRead))).toBe(1);
    await c.query(`SET aws.cache_ttl = '10min'`);
    expect(await getsDuring(() => c.query(pointRead))).toBe(0);
  } finally {
    await c.end();
  }
});

test('a session TTL longer than the server one keeps reads the server would not', async () => {
  // The stack's own bridge flags: --cache-ttl-ms 0.
  const uncached = await stack.startBridge(ONLY_CONNECTOR_PROFILES);
  const c = await connect(uncached.port);
  try {
    expect((await c.query('SHOW aws.cache_ttl')).rows[0]['aws.cache_ttl']).toBe('0s');
    expect(await getsDuring(() => c.query(pointRead))).toBe(1);
    expect(await getsDuring(() => c.query(pointRead))).toBe(1);
    await c.query(`SELECT set_config('aws.cache_ttl', '1min', false)`);
    expect(await getsDuring(() => c.query(pointRead))).toBe(1);
    expect(await getsDuring(() => c.query(pointRead))).toBe(0);
  } finally {
    await c.end();
    await uncached.stop();
  }
});

test('cloud_control.clear_cache() empties the cache for every session; EXPLAIN of it does not', async () => {
  const c = await connect();
  const other = await connect();
  try {
    await other.query(pointRead);
    await c.query('EXPLAIN SELECT cloud_control.clear_cache()');
    expect(await getsDuring(() => other.query(pointRead))).toBe(0);
    expect((await c.query('SELECT cloud_control.clear_cache() AS cleared')).rows).toEqual([{ cleared: '' }]);
    expect(await getsDuring(() => other.query(pointRead))).toBe(1);
  } finally {
    await c.end();
    await other.end();
  }
});

test('a write drops the cached reads of its type: the next read sees the change', async () => {
  const c = await connect();
  try {
    expect((await c.query(pointRead)).rows).toEqual([{ connection_mode: 'Public' }]);
    await c.query(
      `UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = '${region}' AND data__identifier = 'cache-a'`,
    );
    expect((await c.query(pointRead)).rows).toEqual([{ connection_mode: 'Private' }]);
  } finally {
    await c.end();
  }
});

test('bad values and unknown aws. settings are refused with the SQLSTATE PostgreSQL uses; the session goes on', async () => {
  const c = await connect();
  try {
    const bad = await failureOf(c.query(`SET aws.cache_ttl = 'soon'`));
    expect(bad).toMatchObject({
      code: '22023',
      message: 'invalid value for parameter "aws.cache_ttl": "soon"',
    });
    expect(bad.hint).toMatch(/30s/);
    expect(await failureOf(c.query(`SET aws.cache_ttl = '30 fortnights'`))).toMatchObject({ code: '22023' });
    expect(await failureOf(c.query(`SET aws.cache_ttl = '8d'`))).toMatchObject({ code: '22023' });
    expect(await failureOf(c.query('SET aws.cache_tll = 0'))).toMatchObject({
      code: '42602',
      message: 'invalid configuration parameter name "aws.cache_tll"',
    });
    expect((await c.query('SHOW aws.cache_ttl')).rows[0]['aws.cache_ttl']).toBe('600s');
    // set_config() is not checked when it runs: the bad value is refused by the next statement that reads.
    await c.query(`SELECT set_config('aws.cache_ttl', 'later', false)`);
    expect(await failureOf(c.query(pointRead))).toMatchObject({ code: '22023' });
    await c.query(`SET aws.cache_ttl = '2s'`);
    expect((await c.query(pointRead)).rowCount).toBe(1);
  } finally {
    await c.end();
  }
});
