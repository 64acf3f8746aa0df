/**
 * psql 15 (Debian's postgresql-client-15) against the bridge: the meta-commands people type, as they see them.
 * Every recipe of docs/CLIENTS.md#psql runs here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { psql, psqlAsync } from '../support/psql.js';
import { createProfiles, startStack, type Stack, ONLY_CONNECTOR_PROFILES } from '../support/stack.js';
import {
  arnOf,
  COLUMNS,
  DESCRIPTIONS,
  EAST,
  LIST_TABLE_DESCRIPTION,
  TABLE_DESCRIPTION,
  tempDir,
  WEST,
} from './harness.js';

let stack: Stack;
let conn: Stack['pg'];

beforeAll(async () => {
  stack = await startStack({
    regions: ['us-east-1', 'eu-west-1'],
    bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--user', 'analyst', '--password', 'analyst-pw'],
  });
  conn = { ...stack.pg, user: 'analyst', password: 'analyst-pw' };
  await createProfiles(stack.sdk('us-east-1'), EAST);
  await createProfiles(stack.sdk('eu-west-1'), WEST);
}, 120000);
afterAll(() => stack?.stop());

const run = (commands: string[], options?: Parameters<typeof psql>[2]) => psql(conn, commands, options);
/** Runs a script file with `psql -f`, as a user runs a .sql file: errors name the file and line. */
async function psqlFile(script: string, variables: Record<string, string> = {}) {
  const dir = tempDir('psql-script');
  const file = path.join(dir, 'script.sql');
  fs.writeFileSync(file, script);
  try {
    const r = await psqlAsync(conn, [], { variables, file });
    return { ...r, stderr: r.stderr.split(file).join('script.sql') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const lines = (out: string) => out.split('\n').filter((l) => l !== '');

test('\\conninfo names the database, user, host and port', () => {
  const r = run(['\\conninfo']);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe(
    `You are connected to database "aws" as user "analyst" on host "127.0.0.1" at port "${conn.port}".`,
  );
});

test('\\l lists the aws database', () => {
  const r = run(['\\l']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // Name|Owner|Encoding|Collate|Ctype|ICU Locale|Locale Provider|Access privileges
  expect(lines(r.stdout)[1]).toBe(
    'Name|Owner|Encoding|Collate|Ctype|ICU Locale|Locale Provider|Access privileges',
  );
  expect(r.stdout).toMatch(/^aws\|[^|]+\|UTF8\|/m);
});

test('\\dn lists the appflow schema', () => {
  const r = run(['\\dn']);
  expect(r.stderr).toBe('');
  expect(lines(r.stdout).slice(0, 2)).toEqual(['List of schemas', 'Name|Owner']);
  expect(lines(r.stdout)).toContain('appflow|postgres');
});

test('\\dt appflow.* and \\dt+ (with the table descriptions)', () => {
  const r = run(['\\dt appflow.*']);
  expect(r.stderr).toBe('');
  expect(lines(r.stdout).slice(1)).toEqual([
    'Schema|Name|Type|Owner',
    'appflow|connector_profile|table|postgres',
    'appflow|connector_profiles|table|postgres',
    '(2 rows)',
  ]);
  const plus = run(['\\dt+ appflow.*']);
  expect(plus.stderr).toBe('');
  const [header, ...tables] = lines(plus.stdout).slice(1, -1);
  expect(header).toBe('Schema|Name|Type|Owner|Persistence|Access method|Size|Description');
  expect(tables.map((l) => l.split('|'))).toEqual([
    [
      'appflow',
      'connector_profile',
      'table',
      'postgres',
      'permanent',
      'heap',
      expect.any(String),
      TABLE_DESCRIPTION,
    ],
    [
      'appflow',
      'connector_profiles',
      'table',
      'postgres',
      'permanent',
      'heap',
      expect.any(String),
      LIST_TABLE_DESCRIPTION,
    ],
  ]);
});

test('\\dt and \\d with no pattern list the tables once appflow is on the search_path (connection option)', () => {
  const withPath = { ...conn, database: "aws options='-c search_path=appflow,public'" };
  const r = psql(withPath, ['SHOW search_path', '\\dt', '\\d']);
  expect(r.stderr).toBe('');
  expect(lines(r.stdout)).toEqual([
    'search_path',
    'appflow,public',
    '(1 row)',
    'List of relations',
    'Schema|Name|Type|Owner',
    'appflow|connector_profile|table|postgres',
    'appflow|connector_profiles|table|postgres',
    '(2 rows)',
    'List of relations',
    'Schema|Name|Type|Owner',
    'appflow|connector_profile|table|postgres',
    'appflow|connector_profiles|table|postgres',
    '(2 rows)',
  ]);
});

test('\\d appflow.connector_profile shows every column and its type', () => {
  const r = run(['\\d appflow.connector_profile']);
  expect(r.stderr).toBe('');
  expect(lines(r.stdout)).toEqual([
    'Table "appflow.connector_profile"',
    'Column|Type|Collation|Nullable|Default',
    ...COLUMNS.map(([name, type]) => `${name}|${type}|||`),
  ]);
});

test('\\d+ shows each column with the description from the resource schema', () => {
  for (const table of ['appflow.connector_profile', 'appflow.connector_profiles']) {
    const r = run([`\\d+ ${table}`]);
    expect(r.stderr).toBe('');
    const out = lines(r.stdout);
    expect(out[0]).toBe(`Table "${table}"`);
    expect(out[1]).toBe(
      'Column|Type|Collation|Nullable|Default|Storage|Compression|Stats target|Description',
    );
    const described = Object.fromEntries(
      out.slice(2, 2 + COLUMNS.length).map((l) => {
        const f = l.split('|');
        return [f[0], { type: f[1], description: f[8] }];
      }),
    );
    expect(Object.keys(described)).toEqual(COLUMNS.map(([n]) => n));
    for (const [name, description] of Object.entries(DESCRIPTIONS)) {
      expect(described[name]).toEqual({
        type: name === 'connector_profile_config' ? 'jsonb' : 'text',
        description,
      });
    }
    expect(out).toContain('Access method: heap');
  }
});

test('\\x shows one record per block', () => {
  const x = psql(conn, [], {
    aligned: true,
    stdin:
      "\\x\nSELECT region, data__identifier, connector_type, connection_mode, connector_label FROM appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier = 'inventory-api';\n",
  });
  expect(x.stderr).toBe('');
  expect(lines(x.stdout).map((l) => l.trimEnd())).toEqual([
    '-[ RECORD 1 ]----+-------------------',
    'region           | us-east-1',
    'data__identifier | inventory-api',
    'connector_type   | CustomConnector',
    'connection_mode  | Public',
    'connector_label  | InventoryConnector',
  ]);
});

test('\\gdesc describes a query result without running it', () => {
  const r = psql(conn, [], {
    stdin:
      "SELECT data__identifier, connector_profile_config, count(*) OVER () AS n, connector_profile_config -> 'ConnectorProfileProperties' AS props FROM appflow.connector_profile WHERE region = 'us-east-1' \\gdesc\n",
  });
  expect(r.stderr).toBe('');
  expect(lines(r.stdout)).toEqual([
    'Column|Type',
    'data__identifier|text',
    'connector_profile_config|jsonb',
    'n|bigint',
    'props|jsonb',
    '(4 rows)',
  ]);
});

test('\\copy (query) to a CSV file and \\copy table to stdout', () => {
  const dir = tempDir('psql-copy');
  const file = path.join(dir, 'eu.csv');
  try {
    const r = run([
      `\\copy (SELECT data__identifier, connector_type, connection_mode FROM appflow.connector_profiles WHERE region = 'eu-west-1' ORDER BY 1) TO '${file}' WITH (FORMAT csv, HEADER)`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(
      'data__identifier,connector_type,connection_mode\n' +
        'datadog-eu,Datadog,Public\n' +
        'sf-eu,Salesforce,Private\n' +
        'zendesk-support,Zendesk,Public\n',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // The whole table (both default regions), tab-separated, NULL as \N, in table column order.
  const t = run(['\\copy appflow.connector_profiles TO STDOUT']);
  expect(t.stderr).toMatch(/^(NOTICE: .*\n)*$/);
  const copied = lines(t.stdout).map((l) => l.split('\t'));
  expect(copied).toHaveLength(EAST.length + WEST.length);
  const sfEu = copied.find((f) => f[9] === 'sf-eu')!;
  expect(sfEu.slice(0, 7)).toEqual([
    arnOf('eu-west-1', 'sf-eu'),
    '\\N',
    'sf-eu',
    '\\N',
    'Salesforce',
    'Private',
    '\\N',
  ]);
  // The emulator's default account, which the bridge's example keys sign for; named `default` without a file.
  expect(sfEu.slice(8)).toEqual(['eu-west-1', 'sf-eu', '\\N', '123456789012', 'default']);
});

test('PREPARE / EXECUTE / DEALLOCATE', async () => {
  const r = await psqlFile(
    [
      'PREPARE by_id(text, text) AS SELECT connector_type, connection_mode FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2;',
      "EXECUTE by_id('us-east-1', 'sf-sandbox');",
      "EXECUTE by_id('eu-west-1', 'zendesk-support');",
      "EXECUTE by_id('eu-west-1', 'no-such-profile');",
      'DEALLOCATE by_id;',
      "EXECUTE by_id('us-east-1', 'sf-prod');",
      '',
    ].join('\n'),
  );
  expect(lines(r.stdout)).toEqual([
    'connector_type|connection_mode',
    'Salesforce|Private',
    '(1 row)',
    'connector_type|connection_mode',
    'Zendesk|Public',
    '(1 row)',
    'connector_type|connection_mode',
    '(0 rows)',
  ]);
  expect(r.stderr).toBe('psql:script.sql:6: ERROR:  prepared statement "by_id" does not exist\n');
});

test("pg_prepared_statements shows the session's prepared statements", async () => {
  const r = await psqlFile(
    [
      'PREPARE by_id(text, text) AS SELECT connector_type FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2;',
      'SELECT name, parameter_types::text, from_sql FROM pg_prepared_statements;',
      '',
    ].join('\n'),
  );
  expect(r.stderr).toBe('');
  expect(lines(r.stdout)).toEqual(['name|parameter_types|from_sql', 'by_id|{text,text}|t', '(1 row)']);
});

test('ON_ERROR_STOP stops the script at the first error with exit status 3; VERBOSITY verbose shows SQLSTATE, position and HINT', async () => {
  const script = [
    "SELECT count(*) AS east FROM appflow.connector_profiles WHERE region = 'us-east-1';",
    'SELECT connector_typ FROM appflow.connector_profiles;',
    "SELECT 'not reached';",
    '',
  ].join('\n');
  const r = await psqlFile(script, { ON_ERROR_STOP: '1', VERBOSITY: 'verbose' });
  expect(r.status).toBe(3);
  expect(lines(r.stdout)).toEqual(['east', '5', '(1 row)']);
  expect(r.stderr).toMatch(
    /^psql:script.sql:2: ERROR: {2}42703: column "connector_typ" does not exist\nLINE 1: SELECT connector_typ FROM appflow\.connector_profiles;\n {15}\^\nHINT: {2}Perhaps you meant to reference the column "connector_profiles\.connector_type"\.\nLOCATION: {2}\w+, \w+\.c:\d+\n$/,
  );

  // An error of the bridge's own (not of the SQL): the region is checked before AWS is called.
  const bad = await psqlFile(
    "SELECT * FROM appflow.connector_profile WHERE region = 'us east 1' AND data__identifier = 'x';\nSELECT 1;\n",
    { ON_ERROR_STOP: '1', VERBOSITY: 'verbose' },
  );
  expect(bad.status).toBe(3);
  expect(bad.stdout).toBe('');
  expect(bad.stderr).toMatch(
    /^psql:script.sql:1: ERROR: {2}22023: invalid AWS region "us east 1"\n(.*\n)*HINT: {2}.*us-east-1/,
  );

  // Without ON_ERROR_STOP psql goes on, and the terse default shows no SQLSTATE.
  const goesOn = await psqlFile(script);
  expect(goesOn.status).toBe(0);
  expect(lines(goesOn.stdout)).toEqual(['east', '5', '(1 row)', '?column?', 'not reached', '(1 row)']);
  expect(goesOn.stderr).toMatch(/^psql:script.sql:2: ERROR: {2}column "connector_typ" does not exist\n/);
});

test('a BI browse query with no WHERE reads every default region', () => {
  for (const table of ['appflow.connector_profile', 'appflow.connector_profiles']) {
    const r = run([`SELECT * FROM ${table} LIMIT 10000`]);
    expect(r.status).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe(COLUMNS.map(([n]) => n).join('|'));
    expect(out.at(-1)).toBe(`(${EAST.length + WEST.length} rows)`);
    const ids = out.slice(1, -1).map((l) => `${l.split('|')[8]}/${l.split('|')[9]}`);
    expect(ids.sort()).toEqual(
      [
        ...EAST.map((p) => `us-east-1/${p.ConnectorProfileName}`),
        ...WEST.map((p) => `eu-west-1/${p.ConnectorProfileName}`),
      ].sort(),
    );
  }
});
