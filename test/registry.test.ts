import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import {
  catalog,
  lazyCatalog,
  registrySchemas,
  selectCatalog,
  type ResourceTable,
} from '../catalog/index.js';
import { pluralize, tablesOf, type RegistrySchema } from '../catalog/registry/definitions.js';
import { parseConfig } from '../server/config.js';
import { psql } from './support/psql.js';
import { fakeAwsEnv } from './support/processes.js';
import { startStack, type Stack } from './support/stack.js';

const run = promisify(execFile);

/** CI clones the repository with shared/ beside it. */
const seedPath = path.join(process.cwd(), '..', 'shared', 'reference', 'connector_profile.seed.md');

function decode(html: string): string {
  return html
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"');
}

/** The seed's tables as the user wrote them: name, description, fields, methods and permissions. */
function parseSeed(text: string) {
  const cell = (row: string) => [...row.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]!);
  const code = (html: string) =>
    decode(/code="([^"]*)"|<code>([^<]*)<\/code>/.exec(html)!.slice(1).find(Boolean)!);
  const section = (title: string) => text.slice(text.indexOf(`## ${title}`)).split(/\n## /)[0]!;
  const overview = Object.fromEntries(
    section('Overview')
      .split('\n')
      .filter((l) => l.startsWith('<tr><td><b>'))
      .map((l) => {
        const [k, v] = cell(l);
        return [k!.replace(/<\/?b>/g, ''), v!.includes('code') ? code(v!) : decode(v!)];
      }),
  );
  const fields = section('Fields')
    .split('\n')
    .filter((l) => l.startsWith('<tr><td>'))
    .map((l) => {
      const [name, type, description] = cell(l);
      return { name: code(name!), type: code(type!), description: decode(description!) };
    });
  const methodRows = [...section('Methods').matchAll(/<tr>\s*<td>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[0].matchAll(/<td>(.*?)<\/td>/g)].map((c) => code(c[1]!)),
  );
  const permissions = Object.fromEntries(
    [...section('Permissions').matchAll(/### (\w+)\n```json\n([\s\S]*?)```/g)].map((m) => [
      m[1]!.toLowerCase(),
      m[2]!
        .split(/,?\n/)
        .map((p) => p.trim())
        .filter(Boolean),
    ]),
  );
  const select = /```sql\n([\s\S]*?)```/.exec(section('`SELECT` Example'))![1]!;
  return { overview, fields, methods: methodRows, permissions, select };
}

const seed = parseSeed(readFileSync(seedPath, 'utf8'));
const jsonTypes: Record<string, string> = {
  text: 'string',
  jsonb: 'object',
  bigint: 'integer',
  boolean: 'boolean',
};

describe('the seed (../shared/reference/connector_profile.seed.md) from the registry snapshot', () => {
  const table = catalog.table('appflow', 'connector_profile') as ResourceTable;

  it('names and describes the table as the seed does', () => {
    expect(seed.overview.Name).toBe('connector_profile');
    expect(seed.overview.Id).toBe(`aws.${table.schema}.${table.name}`);
    expect(table.description).toBe(seed.overview.Description);
    expect(table.resource.tables.map((t) => t.name)).toEqual(['connector_profile', 'connector_profiles']);
  });

  it('has the seed fields, in order, with their types and descriptions, then the pseudo-columns', () => {
    const extra = ['data__identifier', 'data__patchdocument', 'account_id', 'account_name'];
    const shown = table.columns.filter((c) => !extra.includes(c.name));
    expect(shown.map((c) => ({ name: c.name, type: jsonTypes[c.type], description: c.description }))).toEqual(
      seed.fields,
    );
    expect(table.columns.slice(-4).map((c) => c.name)).toEqual(extra);
  });

  it('has the seed methods with their verbs and required params, and the permissions of each', () => {
    expect(table.methods.map((m) => [m.name, m.verb, m.requiredParams.join(', ')])).toEqual(seed.methods);
    expect(table.methods.find((m) => m.verb === 'SELECT')!.permissions).toEqual(seed.permissions.read);
    expect(table.methods.find((m) => m.verb === 'UPDATE')!.permissions).toEqual(seed.permissions.update);
  });
});

describe('table names', () => {
  it('serves every type of the snapshot, two tables each, no name twice', () => {
    expect(catalog.resourceTypes.length).toBeGreaterThan(1100);
    expect(catalog.tables.filter((t) => t.kind === 'resource' || t.kind === 'collection')).toHaveLength(
      2 * catalog.resourceTypes.length,
    );
    expect(catalog.table('s3', 'bucket')).toMatchObject({ kind: 'resource' });
    expect(catalog.table('s3', 'buckets')).toMatchObject({ kind: 'collection' });
  });

  it('gives the collection table `_list` when StackQL names both tables alike', () => {
    const type = catalog.resourceType('AWS::WorkSpacesWeb::NetworkSettings')!;
    expect(type.tables.map((t) => `${t.schema}.${t.name}`)).toEqual([
      'workspacesweb.network_settings',
      'workspacesweb.network_settings_list',
    ]);
  });

  it('derives names for types StackQL does not list: snake case of the last part, pluralized', () => {
    expect(catalog.resourceType('AWS::Events::EventBusPolicy')!.tables.map((t) => t.name)).toEqual([
      'event_bus_policy',
      'event_bus_policies',
    ]);
    expect(tablesOf('AWS::Example::Analysis', undefined)).toEqual({
      schema: 'example',
      resource: 'analysis',
      collection: 'analyses',
    });
    expect(['bucket', 'policy', 'alias', 'index', 'key'].map(pluralize)).toEqual([
      'buckets',
      'policies',
      'aliases',
      'indexes',
      'keys',
    ]);
  });

  it('renames a property whose column would be a pseudo-column', () => {
    const columns = catalog.table('sns', 'subscription')!.columns.map((c) => c.name);
    expect(columns).toContain('region_property');
    expect(columns.filter((c) => c === 'region')).toHaveLength(1);
  });

  it('--types takes comma-separated type names and globs, and refuses what is neither', () => {
    expect(
      parseConfig(['--types', 'AWS::AppFlow::*,AWS::S3::Bucket', '--types', 'AWS::IAM::Role'], {}).types,
    ).toEqual(['AWS::AppFlow::*', 'AWS::S3::Bucket', 'AWS::IAM::Role']);
    expect(parseConfig([], {}).types).toEqual([]);
    expect(() => parseConfig(['--types', 's3.bucket'], {})).toThrow(
      '--types s3.bucket: give a type name or a glob such as AWS::S3::Bucket or AWS::AppFlow::*',
    );
  });

  it('serves only the types --types selects, and refuses a glob that selects none', () => {
    const some = selectCatalog(['AWS::AppFlow::*', 'AWS::S3::Bucket']);
    expect(new Set(some.resourceTypes.map((t) => t.typeName.split('::')[1]))).toEqual(
      new Set(['AppFlow', 'S3']),
    );
    expect(some.table('s3', 'bucket')).toBeDefined();
    expect(some.table('s3', 'access_point')).toBeUndefined();
    expect(() => selectCatalog(['AWS::Nope::*'])).toThrow(/no resource type/);
  });

  it('builds a type when a lookup names one of its tables, and the same tables once the whole catalog is built', () => {
    // A type whose schema cannot be built: only a lookup of its own tables fails.
    const broken = { typeName: 'AWS::Broken::Thing', primaryIdentifier: 5 } as unknown as RegistrySchema;
    const some = lazyCatalog(() => [
      ...registrySchemas().filter((s) => s.typeName.startsWith('AWS::S3::')),
      broken,
    ]);
    const bucket = some.table('s3', 'bucket')!;
    expect(bucket.columns.map((c) => c.name)).toContain('bucket_name');
    expect(some.tablesNamed('buckets').map((t) => `${t.schema}.${t.name}`)).toEqual(['s3.buckets']);
    expect(some.tablesNamed('resource_types').map((t) => t.schema)).toEqual(['cloud_control']);
    expect(some.tablesNamed('nope')).toEqual([]);
    expect(() => some.table('broken', 'thing')).toThrow();

    const whole = lazyCatalog(registrySchemas);
    const first = ['s3.bucket', 'ec2.vpcs', 'iam.role'].map((key) => {
      const [schema, name] = key.split('.');
      return whole.table(schema!, name!)!;
    });
    const named = whole.tablesNamed('resource_policy');
    expect(named.length).toBeGreaterThan(1);
    // Built later with every type: the tables handed out before are the catalog's own, in the catalog's order.
    for (const table of [...first, ...named]) expect(whole.tables).toContain(table);
    for (const table of whole.tables.slice(0, 300))
      expect(whole.tablesNamed(table.name)).toEqual(whole.tables.filter((t) => t.name === table.name));
    expect(whole.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(
      catalog.tables.map((t) => `${t.schema}.${t.name}`),
    );
  });
});

describe('through the server', () => {
  let stack: Stack;
  let client: pg.Client;
  const region = 'us-east-1';
  const notices: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ regions: [region], emulatorArgs: ['--sample-data'] });
    client = new pg.Client(stack.pg);
    client.on('notice', (n) => notices.push(n.message ?? ''));
    await client.connect();
    // The first start on a machine builds the engine template of ~2,400 tables (docs/BENCHMARKS.md).
  }, 180_000);
  afterAll(async () => {
    await client?.end();
    await stack?.stop();
  });

  const fails = (sql: string) =>
    client.query(sql).then(
      () => undefined,
      (e: pg.DatabaseError) => ({ code: e.code, message: e.message, hint: e.hint }),
    );

  it('psql \\dt *.* lists the tables of more than 1,100 types', async () => {
    const out = psql(stack.pg, ['\\dt *.*']);
    expect(out.stderr).toBe('');
    const rows = out.stdout
      .split('\n')
      .map((l) => l.split('|'))
      .filter((cells) => cells.length === 4 && cells[2] === 'table')
      .filter(([schema]) => !['pg_catalog', 'information_schema'].includes(schema!));
    expect(rows.length).toBe(catalog.tables.length);
    expect(rows.length).toBeGreaterThan(2 * 1100);
  });

  it("answers the seed's SELECT verbatim", async () => {
    const sql = seed.select.replace('<ConnectorProfileName>', 'salesforce-prod');
    const { rows } = await client.query(sql);
    expect(rows).toEqual([
      expect.objectContaining({
        region,
        connector_profile_name: 'salesforce-prod',
        connector_type: 'Salesforce',
        connector_profile_arn: `arn:aws:appflow:${region}:123456789012:connectorprofile/salesforce-prod`,
        connector_profile_config: null,
      }),
    ]);
  });

  it('joins AppFlow flows with the connector profiles they read from', async () => {
    const { rows } = await client.query(
      `SELECT f.flow_name, p.connector_type, f.destination_flow_config_list->0->'DestinationConnectorProperties'->'S3'->>'BucketName' AS bucket
         FROM appflow.flows f
         JOIN appflow.connector_profiles p ON p.connector_profile_name = f.source_flow_config->>'ConnectorProfileName'
        WHERE f.region = 'us-east-1' AND p.region = 'us-east-1'
        ORDER BY f.flow_name`,
    );
    expect(rows).toEqual([
      { flow_name: 'salesforce-accounts', connector_type: 'Salesforce', bucket: 'example-appflow-landing' },
      {
        flow_name: 'salesforce-opportunities',
        connector_type: 'Salesforce',
        bucket: 'example-analytics-exports',
      },
      { flow_name: 'slack-messages', connector_type: 'Slack', bucket: 'example-appflow-landing' },
    ]);
  });

  it('INSERT into s3.buckets creates a bucket that s3.bucket then reads by identifier', async () => {
    await client.query(
      `INSERT INTO s3.buckets (region, bucket_name, tags) VALUES ('${region}', 'inserted-bucket', '[{"Key":"k","Value":"v"}]')`,
    );
    const { rows } = await client.query(
      `SELECT bucket_name, arn, tags FROM s3.bucket WHERE region = '${region}' AND data__identifier = 'inserted-bucket'`,
    );
    expect(rows).toEqual([
      {
        bucket_name: 'inserted-bucket',
        arn: 'arn:aws:s3:::inserted-bucket',
        tags: [{ Key: 'k', Value: 'v' }],
      },
    ]);
    // The AWS CLI, against the emulator, sees the bucket the INSERT made.
    const { stdout } = await run(
      'aws',
      [
        'cloudcontrol',
        'get-resource',
        '--type-name',
        'AWS::S3::Bucket',
        '--identifier',
        'inserted-bucket',
        '--region',
        region,
        '--endpoint-url',
        stack.emulator.endpoint,
        '--output',
        'json',
      ],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...fakeAwsEnv, AWS_CONFIG_FILE: '/dev/null' },
      },
    );
    const { ResourceDescription } = JSON.parse(stdout) as {
      ResourceDescription: { Identifier: string; Properties: string };
    };
    expect(ResourceDescription.Identifier).toBe('inserted-bucket');
    expect(JSON.parse(ResourceDescription.Properties)).toMatchObject({
      BucketName: 'inserted-bucket',
      Arn: 'arn:aws:s3:::inserted-bucket',
      Tags: [{ Key: 'k', Value: 'v' }],
    });
  });

  it('UPDATE of iam.role becomes a JSON Patch', async () => {
    const explain = await client.query(
      `EXPLAIN UPDATE iam.role SET max_session_duration = 7200 WHERE region = '${region}' AND data__identifier = 'AppFlowRedshiftAccess'`,
    );
    const plan = explain.rows.map((r: Record<string, string>) => Object.values(r).join('')).join('\n');
    expect(plan).toContain('UpdateResource');
    expect(plan).toContain('"op":"replace","path":"/MaxSessionDuration","value":7200');
    await client.query(
      `UPDATE iam.role SET max_session_duration = 7200 WHERE region = '${region}' AND data__identifier = 'AppFlowRedshiftAccess'`,
    );
    expect(
      (await stack.awsModelOf('AWS::IAM::Role', region, 'AppFlowRedshiftAccess'))?.MaxSessionDuration,
    ).toBe(7200);
  });

  it('EXPLAIN masks a write-only part of a property (the login password of an IAM user), the rest shows', async () => {
    const plan = await client.query(
      `EXPLAIN INSERT INTO iam.users (region, user_name, login_profile)
       VALUES ('${region}', 'analyst', '{"Password": "Hunter2-secret", "PasswordResetRequired": true}')`,
    );
    const text = plan.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('"UserName":"analyst"');
    expect(text).toContain('"LoginProfile":"***"');
    expect(text).not.toContain('Hunter2-secret');
  });

  it('pins a compound identifier by its part columns: GetResource, no listing', async () => {
    await client.query(
      `INSERT INTO apigateway.documentation_versions (region, rest_api_id, documentation_version, description)
       VALUES ('${region}', 'api1', 'v1', 'first'), ('${region}', 'api1', 'v2', 'second')`,
    );
    const identifiers = await client.query(
      `SELECT data__identifier FROM apigateway.documentation_versions WHERE region = '${region}' ORDER BY 1`,
    );
    expect(identifiers.rows).toEqual([{ data__identifier: 'v1|api1' }, { data__identifier: 'v2|api1' }]);
    notices.length = 0;
    const byParts = await client.query(
      `SELECT description FROM apigateway.documentation_version
        WHERE region = '${region}' AND rest_api_id = 'api1' AND documentation_version = 'v2'`,
    );
    expect(byParts.rows).toEqual([{ description: 'second' }]);
    const byIdentifier = await client.query(
      `SELECT description FROM apigateway.documentation_version WHERE region = '${region}' AND data__identifier = 'v1|api1'`,
    );
    expect(byIdentifier.rows).toEqual([{ description: 'first' }]);
    // Without them, the resource table lists first and says so.
    expect(notices.filter((n) => n.startsWith('listed'))).toEqual([]);
    await client.query(`SELECT description FROM apigateway.documentation_version WHERE region = '${region}'`);
    expect(notices.filter((n) => n.startsWith('listed'))).toHaveLength(1);
  });

  it('a type without a list handler: a clear error saying what to pin', async () => {
    expect(await fails(`SELECT * FROM apigateway.account WHERE region = '${region}'`)).toEqual({
      code: '0A000',
      message:
        "SELECT from apigateway.account needs the resources' identifiers: AWS::ApiGateway::Account has no list handler, so Cloud Control cannot list its resources",
      hint: "Add WHERE data__identifier = '<Id>' on apigateway.account.",
    });
    expect(await fails(`SELECT * FROM apigateway.accounts WHERE region = '${region}'`)).toMatchObject({
      code: '0A000',
      message: expect.stringMatching(
        /SELECT is not supported on apigateway\.accounts: .* has no list handler/,
      ),
    });
    // With an identifier, GetResource answers (here: no such resource, no row).
    const { rows } = await client.query(
      `SELECT * FROM apigateway.account WHERE region = '${region}' AND data__identifier = 'nope'`,
    );
    expect(rows).toEqual([]);
  });

  it('a type without an update handler refuses UPDATE and says why', async () => {
    expect(
      await fails(
        `UPDATE apigateway.usage_plan_key SET key_type = 'API_KEY' WHERE region = '${region}' AND data__identifier = 'x'`,
      ),
    ).toMatchObject({
      code: '0A000',
      message:
        'UPDATE is not supported on apigateway.usage_plan_key: AWS::ApiGateway::UsagePlanKey has no update handler, so Cloud Control cannot update its resources',
    });
  });

  it('cloud_control.resource_types has one row per served type, with handlers and flags', async () => {
    const { rows } = await client.query(
      `SELECT type_name, schema, resource_table, collection_table, primary_identifier, handlers->'update'->'permissions'->>0 AS update_permission,
              read_only_properties, write_only_properties, create_only_properties
         FROM cloud_control.resource_types WHERE type_name LIKE 'AWS::AppFlow::Connector%' ORDER BY type_name`,
    );
    expect(rows).toEqual([
      expect.objectContaining({ type_name: 'AWS::AppFlow::Connector', schema: 'appflow' }),
      {
        type_name: 'AWS::AppFlow::ConnectorProfile',
        schema: 'appflow',
        resource_table: 'connector_profile',
        collection_table: 'connector_profiles',
        primary_identifier: ['ConnectorProfileName'],
        update_permission: 'appflow:UpdateConnectorProfile',
        read_only_properties: ['ConnectorProfileArn', 'CredentialsArn'],
        write_only_properties: ['ConnectorProfileConfig', 'KMSArn'],
        create_only_properties: ['ConnectorProfileName', 'ConnectorType', 'ConnectorLabel'],
      },
    ]);
    const noList = await client.query(
      `SELECT count(*)::int AS n FROM cloud_control.resource_types WHERE NOT handlers ? 'list'`,
    );
    expect(noList.rows[0].n).toBe(catalog.resourceTypes.filter((t) => !t.definition.permissions.list).length);
    expect(await fails(`DELETE FROM cloud_control.resource_types`)).toMatchObject({ code: '0A000' });
  });

  // Its own engine template (another selection): built on the first run.
  it('--types serves only the selected types', async () => {
    const narrow = await stack.startBridge(['--types', 'AWS::AppFlow::*,AWS::S3::Bucket']);
    const c = new pg.Client({ ...stack.pg, port: narrow.port });
    await c.connect();
    try {
      const types = await c.query(`SELECT type_name FROM cloud_control.resource_types ORDER BY 1`);
      expect(types.rows.map((r: { type_name: string }) => r.type_name)).toEqual(
        catalog.resourceTypes
          .map((t) => t.typeName)
          .filter((t) => t.startsWith('AWS::AppFlow::') || t === 'AWS::S3::Bucket')
          .sort(),
      );
      const schemas = await c.query(
        `SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
      );
      expect(schemas.rows.map((r: { table_schema: string }) => r.table_schema)).toEqual([
        'appflow',
        'cloud_control',
        's3',
      ]);
      await expect(c.query(`SELECT * FROM iam.roles WHERE region = '${region}'`)).rejects.toThrow(
        'relation "iam.roles" does not exist',
      );
    } finally {
      await c.end();
      await narrow.stop();
    }
  }, 120_000);
});
