/**
 * pgjdbc (Debian's libpostgresql-jdbc-java, 42.5.x) driven as BI tools drive it: DatabaseMetaData for the
 * schema browser, a PreparedStatement past prepareThreshold, ResultSetMetaData, autocommit off, and a
 * browse with a fetch size. The client is test/compat/clients/JdbcClient.java, run with Java's single-file
 * launch; it connects with the JDBC URL of docs/CLIENTS.md#jdbc-dbeaver-metabase-tableau.
 */
import { createProfiles, startStack, type Stack, ONLY_CONNECTOR_PROFILES } from '../support/stack.js';
import {
  COLUMNS,
  DESCRIPTIONS,
  EAST,
  LIST_TABLE_DESCRIPTION,
  runJdbcClient,
  TABLE_DESCRIPTION,
  WEST,
} from './harness.js';

let stack: Stack;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let out: any;

beforeAll(async () => {
  stack = await startStack({
    regions: ['us-east-1', 'eu-west-1'],
    bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--user', 'bi', '--password', 'bi-pw'],
  });
  await createProfiles(stack.sdk('us-east-1'), EAST);
  await createProfiles(stack.sdk('eu-west-1'), WEST);
  const r = await runJdbcClient(stack.bridge.port, 'read');
  if (r.status !== 0) throw new Error(`JdbcClient exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  out = JSON.parse(r.stdout);
}, 180000);
afterAll(() => stack?.stop());

test('connects: product PostgreSQL, catalog aws, the user of the URL', () => {
  expect(out.product).toMatchObject({
    name: 'PostgreSQL',
    driver: expect.stringMatching(/^42\./),
    url: `jdbc:postgresql://127.0.0.1:${stack.bridge.port}/aws`,
    user: 'bi',
    catalog: 'aws',
    schema: 'public',
  });
  expect(out.product.major).toBeGreaterThanOrEqual(15);
});

test('DatabaseMetaData getCatalogs / getSchemas / getTables with REMARKS', () => {
  expect(out.catalogs).toEqual([{ TABLE_CAT: 'aws' }]);
  expect(out.schemas.map((s: { TABLE_SCHEM: string }) => s.TABLE_SCHEM)).toEqual(
    expect.arrayContaining(['appflow', 'information_schema', 'pg_catalog', 'public']),
  );
  expect(out.tables).toEqual([
    {
      TABLE_CAT: null,
      TABLE_SCHEM: 'appflow',
      TABLE_NAME: 'connector_profile',
      TABLE_TYPE: 'TABLE',
      REMARKS: TABLE_DESCRIPTION,
    },
    {
      TABLE_CAT: null,
      TABLE_SCHEM: 'appflow',
      TABLE_NAME: 'connector_profiles',
      TABLE_TYPE: 'TABLE',
      REMARKS: LIST_TABLE_DESCRIPTION,
    },
  ]);
});

test('DatabaseMetaData getColumns: JDBC types, nullability and REMARKS from the descriptions', () => {
  expect(
    out.columns.map((c: { COLUMN_NAME: string; TYPE_NAME: string }) => [c.COLUMN_NAME, c.TYPE_NAME]),
  ).toEqual(COLUMNS);
  for (const [i, c] of out.columns.entries()) {
    expect(c).toMatchObject({
      TABLE_SCHEM: 'appflow',
      TABLE_NAME: 'connector_profile',
      ORDINAL_POSITION: i + 1,
      DATA_TYPE: c.TYPE_NAME === 'jsonb' ? 1111 /* Types.OTHER */ : 12 /* Types.VARCHAR */,
      NULLABLE: 1,
      IS_NULLABLE: 'YES',
      IS_AUTOINCREMENT: 'NO',
    });
    expect(c.REMARKS).toEqual(expect.any(String));
  }
  for (const [name, description] of Object.entries(DESCRIPTIONS)) {
    expect(out.columns.find((c: { COLUMN_NAME: string }) => c.COLUMN_NAME === name).REMARKS).toBe(
      description,
    );
  }
  // What a schema browser asks next; these tables have no keys or indexes, and the calls must not fail.
  expect(out.primaryKeys).toEqual([]);
  expect(out.importedKeys).toEqual([]);
  expect(out.indexInfo).toEqual([]);
});

test('a PreparedStatement run 8 times: the 5th run on uses the named server statement S_1, results stay right', () => {
  const expected = (key: string, i: number) => {
    const p = [...EAST, ...WEST].find((x) => x.ConnectorProfileName === key);
    if (!p) return [];
    return [
      {
        connector_type: p.ConnectorType,
        connection_mode: p.ConnectionMode,
        connector_label: p.ConnectorLabel ?? null,
        next: i * 10 + 1,
        total: 1,
        config_is_null: true,
      },
    ];
  };
  expect(out.prepared.map((r: { serverPrepared: boolean }) => r.serverPrepared)).toEqual([
    false,
    false,
    false,
    false,
    true,
    true,
    true,
    true,
  ]);
  for (const [i, r] of out.prepared.entries()) expect(r.rows).toEqual(expected(r.key, i));
  expect(out.prepared[6]).toEqual({ key: 'no-such-profile', serverPrepared: true, rows: [] });

  const sent: string[] = out.preparedSent;
  expect(sent.filter((m) => m.startsWith('FE=> Parse(stmt=null,'))).toHaveLength(4);
  expect(sent.filter((m) => m.startsWith('FE=> Parse(stmt=S_1,'))).toHaveLength(1);
  expect(sent.filter((m) => m.startsWith('FE=> Parse('))).toHaveLength(5);
  expect(sent.filter((m) => m.startsWith('FE=> Bind(stmt=S_1,'))).toHaveLength(4);
  // The int parameter is bound as int4 (pgjdbc sends setInt values in binary), the strings as varchar.
  expect(sent.find((m) => m.startsWith('FE=> Bind(stmt=S_1,'))).toMatch(
    /\$1=<\('40'::int4\)>,type=INT4,\$2=<\('us-east-1'\)>,type=VARCHAR/,
  );
  // From the 6th run on pgjdbc knows the result types and asks for int4/int8/bool results in binary:
  // the rows of runs 6 and 8 (sf-eu, slack-ops) above were decoded from binary DataRows.
  const s1Binds = sent.flatMap((m, i) => (m.startsWith('FE=> Bind(stmt=S_1,') ? [i] : []));
  expect(sent.slice(s1Binds[1])).not.toContain('FE=> Describe(portal=null)');
});

test('ResultSetMetaData: names, PostgreSQL and JDBC types, Java classes, base table and schema', () => {
  expect(out.rowFound).toBe(true);
  expect(out.resultSetMetaData).toEqual([
    {
      name: 'data__identifier',
      label: 'data__identifier',
      typeName: 'text',
      type: 12,
      className: 'java.lang.String',
      table: 'connector_profile',
      baseSchema: 'appflow',
      baseColumn: 'data__identifier',
      nullable: 1,
    },
    {
      name: 'connector_profile_config',
      label: 'connector_profile_config',
      typeName: 'jsonb',
      type: 1111,
      className: 'java.lang.String',
      table: 'connector_profile',
      baseSchema: 'appflow',
      baseColumn: 'connector_profile_config',
      nullable: 1,
    },
    {
      name: 'n',
      label: 'n',
      typeName: 'int8',
      type: -5,
      className: 'java.lang.Long',
      table: '',
      baseSchema: '',
      baseColumn: '',
      nullable: 2,
    },
    {
      name: 'east',
      label: 'east',
      typeName: 'bool',
      type: -7,
      className: 'java.lang.Boolean',
      table: '',
      baseSchema: '',
      baseColumn: '',
      nullable: 2,
    },
  ]);
});

test('autocommit off: statements run in a transaction, an error aborts it (25P02) until rollback', () => {
  expect(out.transaction).toMatchObject({
    count: WEST.length,
    isolation: 'read committed',
    error: {
      sqlstate: '42P01',
      message: expect.stringContaining('relation "appflow.connector_profile_typo" does not exist'),
    },
    afterError: { sqlstate: '25P02', message: expect.stringContaining('current transaction is aborted') },
    afterRollback: 'Datadog',
  });
  expect(out.error).toEqual({
    sqlstate: '42703',
    message: expect.stringContaining('column "connector_typ" does not exist'),
  });
});

test('a BI browse with no WHERE, setMaxRows and a fetch size of 3 reads every row of the default regions', () => {
  expect([...out.transaction.browse].sort()).toEqual(
    [
      ...EAST.map((p) => `us-east-1/${p.ConnectorProfileName}`),
      ...WEST.map((p) => `eu-west-1/${p.ConnectorProfileName}`),
    ].sort(),
  );
  // 8 rows through a named portal, 3 at a time: Execute(limit=3) until the portal is done.
  expect(out.transaction.browseExecutes.filter((m: string) => m.includes('portal=C_'))).toEqual([
    expect.stringMatching(/^FE=> Execute\(portal=C_\d+,limit=3\)$/),
    expect.stringMatching(/^FE=> Execute\(portal=C_\d+,limit=3\)$/),
    expect.stringMatching(/^FE=> Execute\(portal=C_\d+,limit=3\)$/),
  ]);
});
