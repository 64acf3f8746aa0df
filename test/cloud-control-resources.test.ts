import pg from 'pg';
import { resources } from '../catalog/cloud-control/resources.js';
import { buildCatalog, catalog as shippedCatalog, requestsTables } from '../catalog/index.js';
import { emulatorClient } from '../emulator/client.js';
import { startEmulator, type RunningEmulator } from '../emulator/index.js';
import { loadParser, parseStatements } from '../server/plan/parse.js';
import { resolveKeys, tableReads } from '../server/plan/table-reads.js';
import { writeTarget } from '../server/plan/writes.js';
import { startBridge, useFakeAwsEnvironment, type Started } from './support/processes.js';
import { psqlAsync } from './support/psql.js';
import { createProfiles, readModel, TYPE_NAME } from './support/stack.js';
import { failureOf } from './support/failure.js';

useFakeAwsEnvironment();

const connectorProfile = shippedCatalog.resourceType(TYPE_NAME)!.definition;

/** A type the emulator serves and the bridge's catalog does not have: only cloud_control.resources reaches it. */
const OTHER_TYPE = 'Example::AppFlow::ConnectorProfile';
const region = 'ca-central-1';
let emulator: RunningEmulator;
let bridge: Started & { port: number };
let sdk: ReturnType<typeof emulatorClient>;

beforeAll(async () => {
  expect(shippedCatalog.resourceType(OTHER_TYPE)).toBeUndefined();
  const other = {
    ...connectorProfile,
    typeName: OTHER_TYPE,
    service: 'example',
    tables: { resource: 'profile', collection: 'profiles' },
  };
  emulator = await startEmulator({
    port: 0,
    logLevel: 'silent',
    completionDelayMs: 20,
    catalog: buildCatalog([connectorProfile, other], requestsTables),
  });
  sdk = emulatorClient(emulator.endpoint, region);
  bridge = await startBridge(['--endpoint', emulator.endpoint, '--region', region, '--cache-ttl-ms', '0']);
});
afterAll(async () => {
  sdk?.destroy();
  await bridge?.stop();
  await emulator?.close();
});

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' });
  await c.connect();
  return c;
}

async function withClient<T>(run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

/** What the emulator now holds for a resource (its read model), or undefined when it is gone. */
const atEmulator = (typeName: string, identifier: string) => readModel(sdk, typeName, identifier);

const profile = (name: string) => ({
  ConnectorProfileName: name,
  ConnectorType: 'Salesforce',
  ConnectionMode: 'Public' as const,
});

test('reads a type by type_name (ListResources) and one resource by identifier (GetResource)', async () => {
  await createProfiles(sdk, [profile('cc-read-1'), profile('cc-read-2')]);
  await withClient(async (c) => {
    const listed = await c.query(
      `SELECT type_name, region, identifier, properties->>'ConnectionMode' AS mode, account_id, account_name
         FROM cloud_control.resources WHERE type_name = $1 ORDER BY identifier`,
      [TYPE_NAME],
    );
    // Without a configuration file: the one account, default, whose id STS gives (the emulator's default account).
    const account = { account_id: '123456789012', account_name: 'default' };
    expect(listed.rows).toEqual([
      { type_name: TYPE_NAME, region, identifier: 'cc-read-1', mode: 'Public', ...account },
      { type_name: TYPE_NAME, region, identifier: 'cc-read-2', mode: 'Public', ...account },
    ]);
    // The same resources as the typed table shows.
    const typed = await c.query(`SELECT data__identifier FROM appflow.connector_profiles ORDER BY 1`);
    expect(typed.rows.map((r) => r.data__identifier)).toEqual(['cc-read-1', 'cc-read-2']);

    const one = await c.query(
      `SELECT identifier, properties FROM cloud_control.resources
        WHERE type_name = 'AWS::AppFlow::ConnectorProfile' AND identifier = 'cc-read-2' AND region = $1`,
      [region],
    );
    expect(one.rows).toHaveLength(1);
    expect(one.rows[0].properties).toMatchObject({
      ConnectorProfileName: 'cc-read-2',
      ConnectorProfileArn: expect.stringContaining(':connectorprofile/cc-read-2'),
    });
    const none = await c.query(
      `SELECT * FROM cloud_control.resources WHERE type_name = $1 AND identifier = 'no-such-profile'`,
      [TYPE_NAME],
    );
    expect(none.rows).toEqual([]);
  });
});

test('INSERT, UPDATE and DELETE a type the bridge has no tables for; each change is live at the emulator', async () => {
  await withClient(async (c) => {
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    const inserted = await c.query(
      `INSERT INTO cloud_control.resources (type_name, region, properties)
       VALUES ($1, $2, $3) RETURNING identifier, properties->>'ConnectorProfileArn' AS arn`,
      [OTHER_TYPE, region, JSON.stringify(profile('cc-write-1'))],
    );
    expect(inserted.command).toBe('INSERT');
    expect(inserted.rows).toEqual([
      { identifier: 'cc-write-1', arn: expect.stringContaining(':connectorprofile/cc-write-1') },
    ]);
    expect(await atEmulator(OTHER_TYPE, 'cc-write-1')).toMatchObject(profile('cc-write-1'));
    expect(notices).toContain(`CreateResource (new ${OTHER_TYPE}) in ${region}: SUCCESS`);

    const read = await c.query(`SELECT identifier FROM cloud_control.resources WHERE type_name = $1`, [
      OTHER_TYPE,
    ]);
    expect(read.rows).toEqual([{ identifier: 'cc-write-1' }]);

    const plan = await c.query(
      `EXPLAIN UPDATE cloud_control.resources SET properties = properties || '{"ConnectionMode": "Private"}'
        WHERE type_name = $1 AND identifier = 'cc-write-1'`,
      [OTHER_TYPE],
    );
    expect(plan.rows.map((r) => r['QUERY PLAN'])).toEqual([
      `UpdateResource ${OTHER_TYPE} "cc-write-1" in ${region}`,
      // The type's schema is unknown here: every value sent is masked, as a write-only one would be.
      '  PatchDocument: [{"op":"replace","path":"/ConnectionMode","value":"***"}]',
    ]);
    const updated = await c.query(
      `UPDATE cloud_control.resources SET properties = properties || '{"ConnectionMode": "Private"}'
        WHERE type_name = $1 AND identifier = 'cc-write-1' RETURNING properties->>'ConnectionMode' AS mode`,
      [OTHER_TYPE],
    );
    expect(updated.rowCount).toBe(1);
    expect(updated.rows).toEqual([{ mode: 'Private' }]);
    expect(await atEmulator(OTHER_TYPE, 'cc-write-1')).toMatchObject({ ConnectionMode: 'Private' });

    const deleted = await c.query(
      `DELETE FROM cloud_control.resources WHERE type_name = $1 AND identifier = 'cc-write-1'`,
      [OTHER_TYPE],
    );
    expect(deleted.rowCount).toBe(1);
    expect(await atEmulator(OTHER_TYPE, 'cc-write-1')).toBeUndefined();
  });
});

test('an UPDATE of a catalog type diffs properties to a JSON Patch, as the typed tables do', async () => {
  await createProfiles(sdk, [profile('cc-patch-1')]);
  await withClient(async (c) => {
    const sql = `UPDATE cloud_control.resources
        SET properties = jsonb_set(properties, '{ConnectionMode}', '"Private"') - 'ConnectorLabel'
      WHERE type_name = $1 AND identifier = 'cc-patch-1'`;
    const plan = await c.query(`EXPLAIN ${sql}`, [TYPE_NAME]);
    expect(plan.rows.map((r) => r['QUERY PLAN'])).toEqual([
      `UpdateResource ${TYPE_NAME} "cc-patch-1" in ${region}`,
      '  PatchDocument: [{"op":"replace","path":"/ConnectionMode","value":"Private"}]',
    ]);
    await c.query(sql, [TYPE_NAME]);
    expect(await atEmulator(TYPE_NAME, 'cc-patch-1')).toMatchObject({ ConnectionMode: 'Private' });
    const typed = await c.query(
      `SELECT connection_mode FROM appflow.connector_profile WHERE data__identifier = 'cc-patch-1'`,
    );
    expect(typed.rows).toEqual([{ connection_mode: 'Private' }]);
  });
});

test('without a pinned type_name, reads and writes are refused with what to add to WHERE', async () => {
  await withClient(async (c) => {
    for (const sql of [
      `SELECT * FROM cloud_control.resources`,
      `SELECT * FROM cloud_control.resources WHERE identifier = 'x'`,
      `SELECT * FROM cloud_control.resources WHERE type_name = 'AWS::S3::Bucket' OR region = 'us-east-1'`,
      `UPDATE cloud_control.resources SET properties = '{}' WHERE identifier = 'x'`,
      `DELETE FROM cloud_control.resources`,
    ]) {
      const err = await failureOf(c.query(sql));
      expect({ sql, code: err.code, message: err.message }).toEqual({
        sql,
        code: '22023',
        message: "cloud_control.resources needs the resource type: add WHERE type_name = '...' to the query",
      });
      expect(err.hint).toContain("WHERE type_name = 'AWS::S3::Bucket'");
    }
    // A column probe (BI tools) fetches nothing, so it needs no type.
    const probe = await c.query(`SELECT * FROM cloud_control.resources LIMIT 0`);
    expect(probe.fields.map((f) => f.name)).toEqual([
      'type_name',
      'region',
      'identifier',
      'properties',
      'account_id',
      'account_name',
    ]);
  });
});

test('bad input gets a clear error before any call', async () => {
  await withClient(async (c) => {
    const badName = await failureOf(
      c.query(`SELECT * FROM cloud_control.resources WHERE type_name = 'S3 bucket'`),
    );
    expect(badName).toMatchObject({ code: '22023', message: 'invalid resource type name "S3 bucket"' });
    const unknown = await failureOf(
      c.query(`SELECT * FROM cloud_control.resources WHERE type_name = 'AWS::Nothing::Here'`),
    );
    expect(unknown).toMatchObject({
      code: '42P01',
      message: `Resource type AWS::Nothing::Here of cloud_control.resources is not available in ${region}`,
    });
    const noType = await failureOf(
      c.query(`INSERT INTO cloud_control.resources (region, properties) VALUES ($1, '{}')`, [region]),
    );
    expect(noType).toMatchObject({ code: '23502', message: expect.stringContaining('"type_name"') });
    const notObject = await failureOf(
      c.query(`INSERT INTO cloud_control.resources (type_name, properties) VALUES ($1, '[1]')`, [OTHER_TYPE]),
    );
    expect(notObject).toMatchObject({
      code: '22023',
      message: 'properties must be a JSON object: the resource model',
    });
    const identifier = await failureOf(
      c.query(
        `UPDATE cloud_control.resources SET identifier = 'other' WHERE type_name = $1 AND identifier = 'x'`,
        [TYPE_NAME],
      ),
    );
    expect(identifier).toMatchObject({
      code: '428C9',
      message: 'column "identifier" identifies the resource and cannot be updated',
    });
  });
});

test('one INSERT may create resources of several types, and COPY FROM creates them too', async () => {
  await withClient(async (c) => {
    const r = await c.query(
      `INSERT INTO cloud_control.resources (type_name, region, properties)
       VALUES ($1, $3, $4), ($2, $3, $5) RETURNING type_name, identifier`,
      [
        TYPE_NAME,
        OTHER_TYPE,
        region,
        JSON.stringify(profile('cc-multi-1')),
        JSON.stringify(profile('cc-multi-2')),
      ],
    );
    expect(r.rows).toEqual([
      { type_name: TYPE_NAME, identifier: 'cc-multi-1' },
      { type_name: OTHER_TYPE, identifier: 'cc-multi-2' },
    ]);
    expect(await atEmulator(TYPE_NAME, 'cc-multi-1')).toMatchObject(profile('cc-multi-1'));
    expect(await atEmulator(OTHER_TYPE, 'cc-multi-2')).toMatchObject(profile('cc-multi-2'));
  });
  // psql runs asynchronously: the emulator answers from this process.
  const copied = await psqlAsync(
    { host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' },
    [`\\copy cloud_control.resources (type_name, region, properties) from stdin`],
    { tags: true, stdin: `${OTHER_TYPE}\t${region}\t${JSON.stringify(profile('cc-copy-1'))}\n\\.\n` },
  );
  expect(copied.status).toBe(0);
  expect(copied.stderr).not.toMatch(/ERROR/);
  expect(copied.stderr).toContain(`CreateResource (new ${OTHER_TYPE}) in ${region}: SUCCESS`);
  expect(copied.stdout).toContain('COPY 1');
  expect(await atEmulator(OTHER_TYPE, 'cc-copy-1')).toMatchObject(profile('cc-copy-1'));
});

test('an error about a type the catalog does not describe never shows the values sent', async () => {
  await withClient(async (c) => {
    const err = (await failureOf(
      c.query(`INSERT INTO cloud_control.resources (type_name, region, properties) VALUES ($1, $2, $3)`, [
        OTHER_TYPE,
        region,
        JSON.stringify({ ...profile('cc-secret-1'), ConnectionMode: 'hunter2-token' }),
      ]),
    )) as { code: string; message: string; detail?: string };
    expect(err.code).toBe('22023');
    expect(err.detail).toContain('*** is not a valid enum value');
    expect(JSON.stringify(err)).not.toContain('hunter2-token');
  });
});

describe('the planner', () => {
  beforeAll(() => loadParser());
  const keys = (sql: string, params: string[] = []) => {
    const [stmt] = parseStatements(sql);
    return tableReads(stmt!, shippedCatalog).map((r) => ({
      table: `${r.table.schema}.${r.table.name}`,
      keys: resolveKeys(r, params),
    }));
  };

  test('pins type_name, identifier and region of cloud_control.resources', () => {
    expect(
      keys(
        `SELECT * FROM cloud_control.resources WHERE type_name = ANY($1) AND identifier IN ('a', 'b') AND region = 'eu-west-1'`,
        ['{AWS::S3::Bucket,AWS::IAM::Role}'],
      ),
    ).toEqual([
      {
        table: 'cloud_control.resources',
        keys: {
          type_name: ['AWS::S3::Bucket', 'AWS::IAM::Role'],
          identifier: ['a', 'b'],
          region: ['eu-west-1'],
        },
      },
    ]);
    // The same column names are not keys of resource_requests: its fetch is not narrowed by them.
    expect(
      keys(
        `SELECT * FROM cloud_control.resource_requests WHERE type_name = 'AWS::S3::Bucket' AND identifier = 'a'`,
      ),
    ).toEqual([{ table: 'cloud_control.resource_requests', keys: {} }]);
  });

  test('writes target the table as a view of no type yet; resource_requests stays read-only', () => {
    const [update] = parseStatements(
      `UPDATE cloud_control.resources SET properties = '{}' WHERE type_name = 'A::B::C'`,
    );
    const target = writeTarget(update!, shippedCatalog)!;
    expect(target.table).toMatchObject({
      schema: 'cloud_control',
      name: 'resources',
      anyType: resources,
      bare: true,
    });
    const [del] = parseStatements(`DELETE FROM cloud_control.resource_requests`);
    expect(() => writeTarget(del!, shippedCatalog)).toThrow('is read-only');
  });
});
