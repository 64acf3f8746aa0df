import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startBridge, startEmulator, startNode, type Started } from './support/processes.js';
import { psql } from './support/psql.js';

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

test('a database other than aws and postgres is refused with 3D000', async () => {
  const bridge = await startBridge(['--endpoint', emulator.endpoint, '--region', 'us-east-1']);
  try {
    const c = new pg.Client({ host: '127.0.0.1', port: bridge.port, database: 'sales', user: 'postgres' });
    await expect(c.connect()).rejects.toMatchObject({
      code: '3D000',
      message: 'database "sales" does not exist',
    });
  } finally {
    await bridge.stop();
  }
});

test('with --tls-cert/--tls-key psql connects over TLS (sslmode=require); --auth md5 works for md5 clients', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  const bridge = await startBridge(
    [
      '--endpoint',
      emulator.endpoint,
      '--region',
      'us-east-1',
      '--tls-cert',
      cert,
      '--tls-key',
      key,
      '--auth',
      'md5',
    ],
    { PGBRIDGE_PASSWORD: 'tls-pw' },
  );
  try {
    const r = psql(
      { host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws', password: 'tls-pw' },
      [
        '\\conninfo',
        "SELECT count(*) > 0 AS has_rows FROM appflow.connector_profiles WHERE region = 'us-east-1'",
      ],
      { sslmode: 'require' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
    expect(r.stdout).toContain('t');
    const c = new pg.Client({
      host: '127.0.0.1',
      port: bridge.port,
      user: 'postgres',
      database: 'aws',
      password: 'wrong',
      ssl: { rejectUnauthorized: false },
    });
    await expect(c.connect()).rejects.toMatchObject({ code: '28P01' });
  } finally {
    await bridge.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
