import pg from 'pg';
import { startBridge, startEmulator, startNode, type Started } from './support/processes.js';

let emulator: Started & { endpoint: string };
beforeAll(async () => {
  emulator = await startEmulator(['--sample-data']);
});
afterAll(() => emulator?.stop());

test('a password from PGBRIDGE_PASSWORD is required (SCRAM-SHA-256) and never printed', async () => {
  const secret = 'bridge-pw-8c1f';
  const bridge = await startBridge(
    ['--endpoint', emulator.endpoint, '--region', 'us-east-1', '--user', 'analyst'],
    {
      PGBRIDGE_PASSWORD: secret,
    },
  );
  try {
    const base = { host: '127.0.0.1', port: bridge.port, database: 'aws', user: 'analyst' };
    const good = new pg.Client({ ...base, password: secret });
    await good.connect();
    const r = await good.query(
      "SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = 'us-east-1'",
    );
    expect(r.rows[0].n).toBeGreaterThan(0);
    await good.end();
    const bad = new pg.Client({ ...base, password: 'wrong' });
    await expect(bad.connect()).rejects.toMatchObject({
      code: '28P01',
      message: 'password authentication failed for user "analyst"',
    });
    const nobody = new pg.Client({ ...base, user: 'nobody', password: secret });
    await expect(nobody.connect()).rejects.toMatchObject({ code: '28P01' });
  } finally {
    await bridge.stop();
  }
  expect(bridge.output()).not.toContain(secret);
});

test('without a password the server refuses to listen beyond loopback, and says how to fix it', async () => {
  await expect(
    startNode(
      'server/main.js',
      ['--host', '0.0.0.0', '--port', '0', '--endpoint', emulator.endpoint],
      /listening on/,
    ),
  ).rejects.toThrow(
    /aws-sql-bridge: refusing to listen on 0\.0\.0\.0 without a password: set PGBRIDGE_PASSWORD/,
  );
});

test('a database other than aws is refused with 3D000', async () => {
  const bridge = await startBridge(['--endpoint', emulator.endpoint, '--region', 'us-east-1']);
  try {
    const c = new pg.Client({ host: '127.0.0.1', port: bridge.port, database: 'postgres', user: 'postgres' });
    await expect(c.connect()).rejects.toMatchObject({
      code: '3D000',
      message: 'database "postgres" does not exist',
    });
  } finally {
    await bridge.stop();
  }
});
