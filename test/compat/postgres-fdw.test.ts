/**
 * postgres_fdw from a real PostgreSQL 15 (Debian's postgresql-15) started by the test: the documented
 * CREATE SERVER / USER MAPPING / IMPORT FOREIGN SCHEMA of docs/CLIENTS.md#postgres_fdw, then reads whose
 * WHERE, aggregates and joins postgres_fdw pushes to the bridge (EXPLAIN VERBOSE shows the Remote SQL).
 */
import { createProfiles, startStack, type Stack, ONLY_CONNECTOR_PROFILES } from '../support/stack.js';
import { COLUMNS, docRecipe, EAST, startLocalPostgres, WEST, type LocalPostgres } from './harness.js';

let stack: Stack;
let pg: LocalPostgres;

beforeAll(async () => {
  [stack, pg] = await Promise.all([
    startStack({
      regions: ['us-east-1', 'eu-west-1'],
      bridgeArgs: [...ONLY_CONNECTOR_PROFILES, '--password', 'fdw-pw'],
    }),
    startLocalPostgres(),
  ]);
  await createProfiles(stack.sdk('us-east-1'), EAST);
  await createProfiles(stack.sdk('eu-west-1'), WEST);
}, 180000);
afterAll(async () => {
  await pg?.stop();
  await stack?.stop();
});

const lines = (out: string) => out.split('\n').filter((l) => l !== '');
async function local(sql: string) {
  const r = await pg.psql(sql);
  return { ...r, lines: lines(r.stdout) };
}

test('the documented setup: CREATE SERVER, USER MAPPING, IMPORT FOREIGN SCHEMA appflow', async () => {
  const setup = docRecipe('CREATE SERVER aws_bridge')
    .replace("port '5433'", `port '${stack.bridge.port}'`)
    .replace("password 'choose-one'", "password 'fdw-pw'");
  const r = await local(setup);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const tables = await local(
    "SELECT foreign_table_name, option_name, option_value FROM information_schema.foreign_tables JOIN information_schema.foreign_table_options USING (foreign_table_schema, foreign_table_name) WHERE foreign_table_schema = 'aws_appflow' ORDER BY 1, 2",
  );
  expect(tables.lines).toEqual([
    'foreign_table_name|option_name|option_value',
    'connector_profile|schema_name|appflow',
    'connector_profile|table_name|connector_profile',
    'connector_profiles|schema_name|appflow',
    'connector_profiles|table_name|connector_profiles',
    '(4 rows)',
  ]);
  const columns = await local(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'aws_appflow' AND table_name = 'connector_profile' ORDER BY ordinal_position",
  );
  expect(columns.lines.slice(1, -1)).toEqual(COLUMNS.map(([n, t]) => `${n}|${t}`));
});

test('a WHERE on region and data__identifier is pushed to the bridge', async () => {
  const sql =
    "SELECT data__identifier, connector_type, connection_mode FROM aws_appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier = 'sf-sandbox'";
  const plan = await local(`EXPLAIN (VERBOSE, COSTS OFF) ${sql}`);
  expect(plan.lines).toEqual([
    'QUERY PLAN',
    'Foreign Scan on aws_appflow.connector_profile',
    '  Output: data__identifier, connector_type, connection_mode',
    "  Remote SQL: SELECT connector_type, connection_mode, data__identifier FROM appflow.connector_profile WHERE ((region = 'us-east-1')) AND ((data__identifier = 'sf-sandbox'))",
    '(3 rows)',
  ]);
  const r = await local(sql);
  expect(r.stderr).toBe('');
  expect(r.lines).toEqual([
    'data__identifier|connector_type|connection_mode',
    'sf-sandbox|Salesforce|Private',
    '(1 row)',
  ]);

  const region = await local(
    "SELECT data__identifier, connector_type FROM aws_appflow.connector_profile WHERE region = 'eu-west-1' ORDER BY data__identifier",
  );
  expect(region.stderr).toBe('');
  expect(region.lines).toEqual([
    'data__identifier|connector_type',
    'datadog-eu|Datadog',
    'sf-eu|Salesforce',
    'zendesk-support|Zendesk',
    '(3 rows)',
  ]);
});

test('count(*) is pushed down whole', async () => {
  const plan = await local(
    'EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM aws_appflow.connector_profiles',
  );
  expect(plan.lines).toEqual([
    'QUERY PLAN',
    'Foreign Scan',
    '  Output: (count(*))',
    '  Relations: Aggregate on (aws_appflow.connector_profiles)',
    '  Remote SQL: SELECT count(*) FROM appflow.connector_profiles',
    '(4 rows)',
  ]);
  const all = await local('SELECT count(*) FROM aws_appflow.connector_profiles');
  expect(all.lines).toEqual(['count', String(EAST.length + WEST.length), '(1 row)']);
  const grouped = await local(
    'SELECT region, count(*) FROM aws_appflow.connector_profile GROUP BY region ORDER BY region',
  );
  expect(grouped.lines).toEqual(['region|count', 'eu-west-1|3', 'us-east-1|5', '(2 rows)']);
});

test('a join with a local table', async () => {
  const setup = await local(`
    CREATE TABLE connector_owners (connector_type text PRIMARY KEY, team text NOT NULL);
    INSERT INTO connector_owners VALUES ('Salesforce', 'sales-ops'), ('Snowflake', 'data'), ('Zendesk', 'support');`);
  expect(setup.stderr).toBe('');
  const sql = `SELECT o.team, p.data__identifier
    FROM aws_appflow.connector_profiles p JOIN connector_owners o USING (connector_type)
   WHERE p.region = 'us-east-1' ORDER BY 1, 2`;
  const plan = await local(`EXPLAIN (VERBOSE, COSTS OFF) ${sql}`);
  expect(plan.stdout).toContain(
    "Remote SQL: SELECT connector_type, data__identifier FROM appflow.connector_profiles WHERE ((region = 'us-east-1'))",
  );
  const r = await local(sql);
  expect(r.stderr).toBe('');
  expect(r.lines).toEqual([
    'team|data__identifier',
    'data|snowflake-dw',
    'sales-ops|sf-prod',
    'sales-ops|sf-sandbox',
    '(3 rows)',
  ]);
});

test('a generic-plan PREPARE sends $n parameters to the bridge (DECLARE CURSOR through the extended protocol)', async () => {
  const r = await local(`
    SET plan_cache_mode = force_generic_plan;
    PREPARE q(text, text) AS SELECT connector_type FROM aws_appflow.connector_profile WHERE region = $1 AND data__identifier = $2;
    EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q('eu-west-1', 'zendesk-support');
    EXECUTE q('eu-west-1', 'zendesk-support');
    EXECUTE q('us-east-1', 'slack-ops');`);
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain(
    'Remote SQL: SELECT connector_type FROM appflow.connector_profile WHERE ((region = $1::text)) AND ((data__identifier = $2::text))',
  );
  expect(r.lines.slice(-6)).toEqual([
    'connector_type',
    'Zendesk',
    '(1 row)',
    'connector_type',
    'Slack',
    '(1 row)',
  ]);
});

test('jsonb and write-only columns come through as NULL; no region reads the default regions', async () => {
  const r = await local(
    "SELECT region, connector_profile_config IS NULL AS config_null, kms_arn IS NULL AS kms_null, connector_label FROM aws_appflow.connector_profile WHERE data__identifier IN ('inventory-api', 'slack-ops', 'sf-eu') ORDER BY data__identifier",
  );
  expect(r.stderr).toBe('');
  expect(r.lines).toEqual([
    'region|config_null|kms_null|connector_label',
    'us-east-1|t|t|InventoryConnector',
    'eu-west-1|t|t|',
    'us-east-1|t|t|',
    '(3 rows)',
  ]);
});

test('a remote error reaches the local session with its SQLSTATE', async () => {
  const r = await pg.psql(
    "\\set VERBOSITY verbose\nSELECT * FROM aws_appflow.connector_profile WHERE region = 'us east 1' AND data__identifier = 'x';\n",
  );
  expect(r.status).toBe(3);
  expect(r.stderr).toMatch(/ERROR: {2}22023: invalid AWS region "us east 1"/);
  expect(r.stderr).toMatch(/CONTEXT: {2}remote SQL command: SELECT /);
});
