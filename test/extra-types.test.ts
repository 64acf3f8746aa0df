import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { psql } from './support/psql.js';
import { startBridge, startEmulator, type Started } from './support/processes.js';

// A private type registered in the emulated account: not in the registry snapshot, so only --extra-types serves it.
const widget = {
  typeName: 'MyOrg::Test::Widget',
  description: 'A private widget activated in the account',
  properties: {
    Name: { type: 'string', description: 'The widget name.' },
    Size: { type: 'integer', description: 'How big it is.' },
    Arn: { type: 'string', description: 'The widget ARN.' },
  },
  additionalProperties: false,
  primaryIdentifier: ['/properties/Name'],
  readOnlyProperties: ['/properties/Arn'],
  createOnlyProperties: ['/properties/Name'],
  handlers: {
    create: { permissions: ['myorg:CreateWidget'] },
    read: { permissions: ['myorg:GetWidget'] },
    delete: { permissions: ['myorg:DeleteWidget'] },
    list: { permissions: ['myorg:ListWidgets'] },
  },
};

const dir = mkdtempSync(path.join(tmpdir(), 'extra-types-'));
const schemaFile = path.join(dir, 'widget.json');
writeFileSync(schemaFile, JSON.stringify(widget));

// The connector profiles beside the extra type: a small template, built once for these tests.
const baseArgs = ['--types', 'AWS::AppFlow::ConnectorProfile', '--region', 'us-east-1', '--engines', '1'];

let emulator: (Started & { endpoint: string }) | undefined;
const bridges: Started[] = [];

beforeAll(async () => {
  emulator = await startEmulator(['--register-type', schemaFile, '--log-level', 'warn']);
}, 30_000);
afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop()));
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function bridge(extraTypes: string) {
  const started = await startBridge([
    ...baseArgs,
    '--endpoint',
    emulator!.endpoint,
    '--extra-types',
    extraTypes,
  ]);
  bridges.push(started);
  return { host: '127.0.0.1', port: started.port, user: 'postgres', database: 'aws' };
}

describe('--extra-types', () => {
  it('serves a type read by name with DescribeType: its tables list, INSERT creates and SELECT reads it', async () => {
    const conn = await bridge('MyOrg::Test::Widget');

    const tables = psql(conn, ['\\dt test.*']);
    expect(tables.stderr).toBe('');
    expect(tables.stdout).toContain('test|widget|table|');
    expect(tables.stdout).toContain('test|widgets|table|');
    const described = psql(conn, ['\\d+ test.widget']);
    expect(described.stdout).toMatch(/^size\|bigint\|.*\|How big it is\.$/m);

    const client = new pg.Client(conn);
    await client.connect();
    try {
      await client.query(`INSERT INTO test.widgets (name, size) VALUES ('w1', 3)`);
      const { rows } = await client.query(
        `SELECT name, size, arn, region FROM test.widget WHERE data__identifier = $1`,
        ['w1'],
      );
      expect(rows).toEqual([
        {
          name: 'w1',
          size: '3', // bigint: node-postgres returns it as text
          arn: expect.stringMatching(/^arn:aws:test:us-east-1:\d{12}:widget\/w1$/),
          region: 'us-east-1',
        },
      ]);
      const types = await client.query(
        `SELECT type_name FROM cloud_control.resource_types WHERE type_name LIKE 'MyOrg::%'`,
      );
      expect(types.rows).toEqual([{ type_name: 'MyOrg::Test::Widget' }]);
      // No update handler in its schema: refused with the reason, as for any shipped type.
      await expect(
        client.query(`UPDATE test.widget SET size = 4 WHERE data__identifier = 'w1'`),
      ).rejects.toThrow(/update/i);
    } finally {
      await client.end();
    }
  }, 240_000);

  it('serves a type from a local schema file, given by a glob', async () => {
    const conn = await bridge(`${dir}/*.json`);
    const out = psql(conn, [
      `INSERT INTO test.widgets (name, size) VALUES ('w2', 5)`,
      `SELECT name, size FROM test.widget WHERE data__identifier = 'w2'`,
    ]);
    expect(out.stderr).toContain('NOTICE:  CreateResource w2 in us-east-1: SUCCESS');
    expect(out.stdout).toBe('name|size\nw2|5\n(1 row)\n');
  }, 240_000);

  it('refuses to start, saying what to do, when the account lacks the type', async () => {
    await expect(bridge('MyOrg::Test::Missing')).rejects.toThrow(
      /--extra-types: MyOrg::Test::Missing is not registered or activated in us-east-1; activate a public third-party type first/,
    );
  }, 60_000);
});
