/**
 * The notebook stack, from Debian's packages run by Debian's python3: psycopg2, psycopg 3, SQLAlchemy 1.4
 * (psycopg2 dialect) and pandas. Each client is a script in test/compat/clients/ that prints what it saw as
 * JSON; the connection settings and the SQLAlchemy URL are those of docs/CLIENTS.md#python-notebooks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createProfiles, startStack, type Stack, ONLY_CONNECTOR_PROFILES } from '../support/stack.js';
import {
  arnOf,
  COLUMNS,
  DESCRIPTIONS,
  EAST,
  runPython,
  TABLE_DESCRIPTION,
  tempDir,
  WEST,
} from './harness.js';

let stack: Stack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startStack({
    regions: ['us-east-1', 'eu-west-1'],
    bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--user', 'analyst', '--password', 'nb-pw'],
  });
  await createProfiles(stack.sdk('us-east-1'), EAST);
  await createProfiles(stack.sdk('eu-west-1'), WEST);
  env = { PGHOST: '127.0.0.1', PGPORT: String(stack.bridge.port), PGUSER: 'analyst', PGPASSWORD: 'nb-pw' };
}, 120000);
afterAll(() => stack?.stop());

const allIds = () =>
  [
    ...EAST.map((p) => `us-east-1/${p.ConnectorProfileName}`),
    ...WEST.map((p) => `eu-west-1/${p.ConnectorProfileName}`),
  ].sort();

describe('psycopg2', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let out: any;
  beforeAll(async () => {
    out = await runPython('psycopg2_client.py', env);
  }, 120000);

  test('client-side parameters: a tuple as an IN list, a list as an ARRAY; text and jsonb types', () => {
    expect(out.server_version).toBeGreaterThanOrEqual(150000);
    expect(out.dsn).toBe('aws');
    expect(out.query).toBe(
      "SELECT data__identifier, connector_type, connection_mode, connector_label FROM appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier IN ('sf-prod', 'inventory-api', 'missing') ORDER BY 1",
    );
    expect(out.description).toEqual([
      ['data__identifier', 25],
      ['connector_type', 25],
      ['connection_mode', 25],
      ['connector_label', 25],
    ]);
    expect(out.rows).toEqual([
      ['inventory-api', 'CustomConnector', 'Public', 'InventoryConnector'],
      ['sf-prod', 'Salesforce', 'Public', null],
    ]);
    expect(out.status_in_transaction).toBe(true);
    expect(out.any).toEqual([3, ['sf-prod', 'sf-sandbox', 'slack-ops']]);
    expect(out.jsonb).toEqual({
      region: 'eu-west-1',
      kms_arn: null,
      connector_type: 'Salesforce',
      connection_mode: 'Private',
      connector_label: null,
      data__identifier: 'sf-eu',
      data__patchdocument: null,
      connector_profile_arn: arnOf('eu-west-1', 'sf-eu'),
      connector_profile_name: 'sf-eu',
      account_id: '123456789012',
      account_name: 'default',
    });
  });

  test('a named cursor: DECLARE, FETCH FORWARD itersize, scroll back', () => {
    expect(out.named_iter).toEqual(
      [...EAST, ...WEST]
        .filter((p) => p.ConnectionMode === 'Public')
        .map((p) => `${EAST.includes(p) ? 'us-east-1' : 'eu-west-1'}/${p.ConnectorProfileName}`)
        .sort(),
    );
    expect(out.named_after_scroll).toEqual([
      ['eu-west-1', 'datadog-eu'],
      ['eu-west-1', 'zendesk-support'],
    ]);
  });

  test('copy_expert: COPY (query) TO STDOUT as CSV, and a whole table', () => {
    expect(out.copy_csv).toBe(
      'data__identifier,connector_type\ndatadog-eu,Datadog\nsf-eu,Salesforce\nzendesk-support,Zendesk\n',
    );
    expect(out.copy_table).toEqual(
      [
        ...EAST.map((p) => `us-east-1\t${p.ConnectorProfileName}\t${p.ConnectorType}`),
        ...WEST.map((p) => `eu-west-1\t${p.ConnectorProfileName}\t${p.ConnectorType}`),
      ].sort(),
    );
  });

  test('errors: exception classes by SQLSTATE, diagnostics, 25P02 until rollback, then autocommit', () => {
    expect(out.errors).toEqual({
      undefined_column: {
        class: 'UndefinedColumn',
        pgcode: '42703',
        message: 'column "connector_typ" does not exist',
        hint: 'Perhaps you meant to reference the column "connector_profiles.connector_type".',
        position: '8',
      },
      in_failed_transaction: { class: 'InFailedSqlTransaction', pgcode: '25P02' },
      bad_region: {
        class: 'InvalidParameterValue',
        pgcode: '22023',
        message: 'invalid AWS region "us east 1"',
      },
      after_rollback: 42,
    });
    expect(out.autocommit_count).toBe(WEST.length);
    expect(out.autocommit_idle).toBe(true);
  });
});

describe('psycopg 3', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let out: any;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('psycopg3');
    out = await runPython('psycopg3_client.py', env, [path.join(dir, 'libpq-trace.txt')]);
  }, 120000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('server-side parameters over the extended protocol', () => {
    expect(out.extended).toEqual([['sf-sandbox', 'Salesforce', 'Private']]);
    expect(out.extended_description).toEqual([
      ['data__identifier', 25],
      ['connector_type', 25],
      ['connection_mode', 25],
    ]);
  });

  test('binary results decode to Python types; binary parameters', () => {
    expect(out.binary_formats).toEqual([1, 1, 1, 1, 1, 1]);
    const row = (id: string, priv: boolean) => ({
      data__identifier: ['str', id],
      n: ['int', 2],
      private: ['bool', priv],
      type_json: ['str', 'Salesforce'],
      at: ['datetime', true],
      num: ['Decimal', '1.5'],
    });
    expect(out.binary_rows).toEqual([row('sf-prod', false), row('sf-sandbox', true)]);
    // us-east-1 ids longer than 8 characters: sf-sandbox, slack-ops, snowflake-dw, inventory-api.
    expect(out.binary_params).toBe(4);
  });

  test('prepare=True: one Parse of a named statement, then Bind/Execute for each call', () => {
    expect(out.prepared).toEqual([
      ['sf-prod', ['Salesforce']],
      ['zendesk-support', ['Zendesk']],
      ['slack-ops', ['Slack']],
      ['nope', []],
    ]);
    const sent: string[] = out.trace_sent.map((l: string) => l.split('\t').slice(2).join('\t'));
    const parses = sent.filter((m) => m.startsWith('Parse'));
    expect(parses).toHaveLength(1);
    expect(parses[0]).toMatch(
      /^Parse\t "_pg3_\d+" "SELECT connector_type FROM appflow\.connector_profile WHERE region = \$1 AND data__identifier = \$2"/,
    );
    const name = parses[0]!.match(/"(_pg3_\d+)"/)![1];
    expect(sent.filter((m) => m.startsWith(`Bind\t "" "${name}"`))).toHaveLength(4);
  });

  test('pipeline mode', () => {
    expect(out.pipeline).toEqual([EAST.length, WEST.length, 'InventoryConnector']);
  });

  test('a server-side cursor with a parameter (DECLARE through the extended protocol, FETCH FORWARD)', () => {
    expect(out.server_cursor).toEqual(EAST.map((p) => p.ConnectorProfileName).sort());
  });

  test('COPY TO STDOUT, text and binary', () => {
    expect(out.copy_text).toEqual([
      ['datadog-eu', 'Public'],
      ['sf-eu', 'Private'],
      ['zendesk-support', 'Public'],
    ]);
    expect(out.copy_binary).toEqual([
      ['datadog-eu', 3],
      ['sf-eu', 3],
      ['zendesk-support', 3],
    ]);
  });

  test('errors carry SQLSTATE and diagnostics; the connection goes on', () => {
    expect(out.errors).toEqual({
      undefined_column: {
        class: 'UndefinedColumn',
        sqlstate: '42703',
        message: 'column "connector_typ" does not exist',
        hint: 'Perhaps you meant to reference the column "connector_profiles.connector_type".',
      },
      bad_parameter: { class: 'InvalidTextRepresentation', sqlstate: '22P02' },
      after: 42,
    });
  });
});

describe('SQLAlchemy and pandas', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let out: any;
  beforeAll(async () => {
    // The URL of docs/CLIENTS.md#python-notebooks.
    out = await runPython('sqlalchemy_pandas_client.py', {}, [
      `postgresql+psycopg2://analyst:nb-pw@127.0.0.1:${stack.bridge.port}/aws`,
    ]);
  }, 120000);

  test('inspect(): schemas, tables, comments, columns with types and descriptions', () => {
    expect(out.schemas).toEqual(expect.arrayContaining(['appflow', 'public']));
    expect(out.tables).toEqual(['connector_profile', 'connector_profiles']);
    expect(out.has_table).toEqual([true, false]);
    expect(out.table_comment).toBe(TABLE_DESCRIPTION);
    expect(out.columns.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual(
      COLUMNS.map(([n, t]) => [n, t === 'jsonb' ? 'JSONB(astext_type=Text())' : 'TEXT()']),
    );
    for (const c of out.columns) expect(c.nullable).toBe(true);
    for (const [name, description] of Object.entries(DESCRIPTIONS)) {
      expect(out.columns.find((c: { name: string }) => c.name === name).comment).toBe(description);
    }
    expect([out.pk, out.fks, out.indexes]).toEqual([[], [], []]);
  });

  test('Table autoload and Core selects', () => {
    expect(out.autoload).toEqual({
      columns: COLUMNS.map(([n]) => n),
      comment: TABLE_DESCRIPTION,
      config_is_jsonb: true,
      region_comment: 'AWS region.',
    });
    expect(out.select_one).toEqual(['Snowflake', 'Public', arnOf('us-east-1', 'snowflake-dw')]);
    expect(out.group_by).toEqual([
      ['eu-west-1', 3],
      ['us-east-1', 5],
    ]);
    expect(out.in_list).toEqual(['datadog-eu', 'sf-eu']);
  });

  test('pandas read_sql with parameters and in chunks', () => {
    expect(out.read_sql.shape).toEqual([5, 4]);
    expect(out.read_sql.dtypes).toEqual({
      data__identifier: 'object',
      connector_type: 'object',
      connection_mode: 'object',
      id_len: 'int64',
    });
    expect(out.read_sql.records).toEqual(
      [...EAST]
        .sort((a, b) => a.ConnectorProfileName.localeCompare(b.ConnectorProfileName))
        .map((p) => ({
          data__identifier: p.ConnectorProfileName,
          connector_type: p.ConnectorType,
          connection_mode: p.ConnectionMode,
          id_len: p.ConnectorProfileName.length,
        })),
    );
    expect(out.read_sql_chunks).toEqual([3, 3, 2]);
  });

  test('pandas read_sql_table reads every row of the default regions', () => {
    expect(out.read_sql_table).toEqual({
      shape: [8, COLUMNS.length],
      columns: COLUMNS.map(([n]) => n),
      ids: allIds(),
      null_configs: 8,
    });
    expect(out.read_sql_table_columns).toEqual({
      shape: [8, 2],
      labels: { 'inventory-api': 'InventoryConnector' },
    });
  });
});
