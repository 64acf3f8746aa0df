/**
 * Go lib/pq (Debian's golang-github-lib-pq-dev), used as Grafana's PostgreSQL data source uses it: the
 * data source test, the query builder's look-ups, template variables and panel queries. The client is
 * test/compat/clients/grafana/main.go, built here offline with GO111MODULE=off against Debian's source.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createProfiles, startStack, type Stack, ONLY_CONNECTOR_PROFILES } from '../support/stack.js';
import { arnOf, clientsDir, COLUMNS, EAST, run, tempDir, WEST } from './harness.js';

let stack: Stack;
let dir: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let out: any;

beforeAll(async () => {
  dir = tempDir('go');
  const binary = path.join(dir, 'grafana-libpq');
  const build = run('go', ['build', '-o', binary, 'main.go'], {
    cwd: path.join(clientsDir, 'grafana'),
    env: {
      GO111MODULE: 'off',
      GOPATH: '/usr/share/gocode',
      GOFLAGS: '',
      GOPROXY: 'off',
      GOCACHE: path.join(dir, 'go-cache'),
    },
    timeoutMs: 300000,
  });
  stack = await startStack({
    regions: ['us-east-1', 'eu-west-1'],
    bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--user', 'grafana', '--password', 'grafana-pw'],
  });
  await createProfiles(stack.sdk('us-east-1'), EAST);
  await createProfiles(stack.sdk('eu-west-1'), WEST);
  const built = await build;
  if (built.status !== 0) throw new Error(`go build failed:\n${built.stderr}`);
  // The connection string of docs/CLIENTS.md#grafana, as Grafana builds it from the data source form.
  const r = await run(binary, [
    `host=127.0.0.1 port=${stack.bridge.port} dbname=aws user=grafana password=grafana-pw sslmode=disable`,
  ]);
  if (r.status !== 0) throw new Error(`grafana-libpq exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  out = JSON.parse(r.stdout);
}, 360000);
afterAll(async () => {
  await stack?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('"Save & test": Ping (an empty query) succeeds, the version and TimescaleDB checks answer', () => {
  expect(out.ping).toBe('ok');
  expect(out.version.columns).toEqual([{ name: 'version', type: 'INT4' }]);
  expect(out.version.rows[0][0]).toBeGreaterThanOrEqual(1500);
  expect(out.timescaledb).toEqual({ columns: [{ name: 'extversion', type: 'TEXT' }], rows: [] });
});

test('query builder: schemas, tables (schema-qualified off the search_path) and columns with types', () => {
  expect(out.schemas.rows.map((r: string[]) => r[0])).toEqual(expect.arrayContaining(['appflow', 'public']));
  expect(out.tablesInSchema.rows).toEqual([['connector_profile'], ['connector_profiles']]);
  // Every table of the bridge's catalog, schema-qualified since none is on the default search_path.
  expect(out.tables.rows).toEqual(
    expect.arrayContaining([['appflow.connector_profile'], ['appflow.connector_profiles']]),
  );
  for (const [t] of out.tables.rows) expect(t).toMatch(/^\w+\.\w+$/);
  expect(out.columns.rows).toEqual(COLUMNS);
});

test('a template variable lists the regions', () => {
  expect(out.variable.rows).toEqual([['eu-west-1'], ['us-east-1']]);
});

test('a table panel: an aggregate over the list table, typed INT8', () => {
  expect(out.table.columns).toEqual([
    { name: 'Connector', type: 'TEXT' },
    { name: 'Profiles', type: 'INT8' },
    { name: 'Private', type: 'INT8' },
  ]);
  expect(out.table.rows).toEqual([
    ['Salesforce', 3, 2],
    ['CustomConnector', 1, 0],
    ['Datadog', 1, 0],
    ['Slack', 1, 0],
    ['Snowflake', 1, 0],
    ['Zendesk', 1, 0],
  ]);
});

test('a time-series panel: $__timeGroupAlias (epoch seconds, numeric), a metric and a float8 value', () => {
  expect(out.timeSeries.columns).toEqual([
    { name: 'time', type: 'NUMERIC' },
    { name: 'metric', type: 'TEXT' },
    { name: 'value', type: 'FLOAT8' },
  ]);
  expect(out.timeSeries.rows).toEqual([
    [expect.stringMatching(/^\d+$/), 'eu-west-1', 3],
    [out.timeSeries.rows[0][0], 'us-east-1', 5],
  ]);
  const age = Date.now() / 1000 - Number(out.timeSeries.rows[0][0]);
  expect(age).toBeGreaterThanOrEqual(0);
  expect(age).toBeLessThan(5 * 60);
  // A timestamptz time column arrives as a time.Time.
  expect(out.timeColumn.columns).toEqual([
    { name: 'time', type: 'TIMESTAMPTZ' },
    { name: 'value', type: 'INT8' },
  ]);
  expect(out.timeColumn.rows).toEqual([[expect.stringMatching(/^time:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), 3]]);
  expect(Math.abs(Date.now() - Date.parse(out.timeColumn.rows[0][0].slice(5)))).toBeLessThan(5 * 60 * 1000);
});

test('jsonb and text values of the resource table', () => {
  expect(out.jsonb).toEqual({
    columns: [
      { name: 'data__identifier', type: 'TEXT' },
      { name: 'connector_profile_arn', type: 'TEXT' },
      { name: 'connector_profile_config', type: 'JSONB' },
      { name: 'label', type: 'TEXT' },
    ],
    rows: [['inventory-api', arnOf('us-east-1', 'inventory-api'), null, 'InventoryConnector']],
  });
});

test('lib/pq with $n arguments (extended protocol)', () => {
  expect(out.parameters.rows).toEqual([['Zendesk', 'Public']]);
  expect(out.parametersNoRow).toEqual({ columns: [{ name: 'connector_type', type: 'TEXT' }], rows: [] });
});

test('errors reach the panel as *pq.Error with SQLSTATE, hint and position; the pool keeps working', () => {
  expect(out.error).toEqual({
    rows: [],
    error: {
      code: '42703',
      severity: 'ERROR',
      message: 'column "connector_typ" does not exist',
      hint: 'Perhaps you meant to reference the column "connector_profiles.connector_type".',
      position: '8',
    },
  });
  expect(out.regionError.error).toMatchObject({
    code: '22023',
    severity: 'ERROR',
    message: 'invalid AWS region "us east 1"',
  });
  expect(out.regionError.error.hint).toContain('us-east-1');
  expect(out.afterError.rows).toEqual([[WEST.length]]);
});
