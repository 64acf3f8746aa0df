import { psql } from './support/psql.js';
import { createProfiles, startStack, type Profile, type Stack } from './support/stack.js';

const east: Profile[] = [
  { ConnectorProfileName: 'alpha-sf', ConnectorType: 'Salesforce', ConnectionMode: 'Public' },
  { ConnectorProfileName: 'beta-sf', ConnectorType: 'Salesforce', ConnectionMode: 'Private' },
  { ConnectorProfileName: 'gamma-snow', ConnectorType: 'Snowflake', ConnectionMode: 'Public' },
  {
    ConnectorProfileName: 'delta-custom',
    ConnectorType: 'CustomConnector',
    ConnectionMode: 'Public',
    ConnectorLabel: 'my-label',
  },
  {
    ConnectorProfileName: 'epsilon-slack',
    ConnectorType: 'Slack',
    ConnectionMode: 'Public',
    KMSArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  },
];
const west: Profile[] = [
  { ConnectorProfileName: 'west-only', ConnectorType: 'Datadog', ConnectionMode: 'Public' },
];

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ regions: ['us-east-1'] });
  await createProfiles(stack.sdk('us-east-1'), east);
  await createProfiles(stack.sdk('eu-west-1'), west);
});
afterAll(() => stack?.stop());

const run = (commands: string[], options?: Parameters<typeof psql>[2]) => psql(stack.pg, commands, options);
const lines = (out: string) => out.trim().split('\n').filter(Boolean);

test('\\dt lists both tables of the appflow schema', () => {
  const r = run(['\\dt appflow.*']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/appflow\|connector_profile\|table\|/);
  expect(r.stdout).toMatch(/appflow\|connector_profiles\|table\|/);
});

test('\\d+ shows each column with its type and the description from the spec', () => {
  const r = run(['\\d+ appflow.connector_profile'], { aligned: true });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(
    /connector_profile_name\s+\|\s+text.*The maximum number of items to retrieve in a single batch\./,
  );
  expect(r.stdout).toMatch(
    /connector_profile_config\s+\|\s+jsonb.*Connector specific configurations needed to create connector profile/,
  );
  expect(r.stdout).toMatch(/region\s+\|\s+text.*AWS region\./);
  const tables = run(['\\dt+ appflow.*']);
  expect(tables.stdout).toMatch(
    /connector_profile\|table\|.*Resource Type definition for AWS::AppFlow::ConnectorProfile/,
  );
});

test("the spec's SELECT example runs verbatim: an identifier that does not exist gives zero rows", () => {
  const sql = `SELECT
region,
connector_profile_arn,
connector_label,
connector_profile_name,
kms_arn,
connector_type,
connection_mode,
connector_profile_config,
credentials_arn
FROM aws.appflow.connector_profile
WHERE region = 'us-east-1' AND data__Identifier = '<ConnectorProfileName>';`;
  const r = run([sql], { variables: { ON_ERROR_STOP: '1' } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(lines(r.stdout)).toEqual([
    'region|connector_profile_arn|connector_label|connector_profile_name|kms_arn|connector_type|connection_mode|connector_profile_config|credentials_arn',
    '(0 rows)',
  ]);
  const named = run([sql.replace('<ConnectorProfileName>', 'delta-custom')]);
  expect(lines(named.stdout)[1]).toBe(
    'us-east-1|arn:aws:appflow:us-east-1:123456789012:connectorprofile/delta-custom|my-label|delta-custom||CustomConnector|Public||' +
      lines(named.stdout)[1]!.split('|')[8],
  );
  expect(lines(named.stdout)[1]!.split('|')[8]).toMatch(
    /^arn:aws:secretsmanager:us-east-1:123456789012:secret:/,
  );
});

test('write-only columns read as NULL', () => {
  const r = run([
    "SELECT kms_arn IS NULL, connector_profile_config IS NULL FROM appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier = 'epsilon-slack'",
  ]);
  expect(lines(r.stdout)[1]).toBe('t|t');
});

test('a list with ORDER BY reads one region only', () => {
  const r = run([
    "SELECT connector_profile_name, connector_type, connection_mode FROM aws.appflow.connector_profiles WHERE region = 'us-east-1' ORDER BY connector_profile_name DESC",
  ]);
  expect(r.status).toBe(0);
  expect(lines(r.stdout).slice(1, -1)).toEqual([
    'gamma-snow|Snowflake|Public',
    'epsilon-slack|Slack|Public',
    'delta-custom|CustomConnector|Public',
    'beta-sf|Salesforce|Private',
    'alpha-sf|Salesforce|Public',
  ]);
  const other = run([
    "SELECT connector_profile_name FROM appflow.connector_profiles WHERE region = 'eu-west-1'",
  ]);
  expect(lines(other.stdout).slice(1, -1)).toEqual(['west-only']);
});

test('without a region the configured default region is read, and listing the resource table says so', () => {
  const r = run(['SELECT count(*) FROM appflow.connector_profile']);
  expect(r.status).toBe(0);
  expect(lines(r.stdout)[1]).toBe('5');
  expect(r.stderr).toMatch(/NOTICE:.*us-east-1/);
});

test('a join of the two tables', () => {
  const r = run([
    `SELECT l.connector_profile_name, g.connector_profile_arn
       FROM appflow.connector_profiles l
       JOIN appflow.connector_profile g ON g.data__identifier = l.connector_profile_name AND g.region = l.region
      WHERE l.region = 'us-east-1' AND l.connector_type = 'Salesforce'
      ORDER BY 1`,
  ]);
  expect(r.status).toBe(0);
  expect(lines(r.stdout).slice(1, -1)).toEqual([
    'alpha-sf|arn:aws:appflow:us-east-1:123456789012:connectorprofile/alpha-sf',
    'beta-sf|arn:aws:appflow:us-east-1:123456789012:connectorprofile/beta-sf',
  ]);
});

test('an aggregate by connector_type', () => {
  const r = run([
    "SELECT connector_type, count(*) AS n FROM appflow.connector_profiles WHERE region IN ('us-east-1', 'eu-west-1') GROUP BY connector_type ORDER BY n DESC, connector_type",
  ]);
  expect(lines(r.stdout).slice(1, -1)).toEqual([
    'Salesforce|2',
    'CustomConnector|1',
    'Datadog|1',
    'Slack|1',
    'Snowflake|1',
  ]);
});

test('a jsonb expression over a row', () => {
  const r = run([
    "SELECT to_jsonb(p) ->> 'connector_label' AS label, jsonb_typeof(to_jsonb(p) -> 'kms_arn') AS kms FROM appflow.connector_profile p WHERE region = 'us-east-1' AND data__identifier = ANY (ARRAY['delta-custom', 'alpha-sf']) ORDER BY 1 NULLS LAST",
  ]);
  expect(lines(r.stdout).slice(1, -1)).toEqual(['my-label|null', '|null']);
});

test('COPY (query) TO STDOUT', () => {
  const r = run([
    "COPY (SELECT connector_profile_name, connection_mode FROM appflow.connector_profiles WHERE region = 'us-east-1' AND connection_mode = 'Private') TO STDOUT WITH (FORMAT csv, HEADER)",
  ]);
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('connector_profile_name,connection_mode\nbeta-sf,Private\n');
});

test('an error shows its SQLSTATE, and the session goes on', () => {
  const r = run(['SELECT no_such_column FROM appflow.connector_profiles', 'SELECT 1 AS still_here'], {
    variables: { VERBOSITY: 'verbose' },
  });
  expect(r.stderr).toMatch(/ERROR:\s+42703: column "no_such_column" does not exist/);
  expect(r.stdout).toContain('still_here');
  const stop = run(['SELECT 1/0', 'SELECT 2'], { variables: { ON_ERROR_STOP: '1' } });
  expect(stop.status).toBe(1);
  expect(stop.stderr).toMatch(/division by zero/);
});

test('COPY FROM STDIN creates resources; server-side files are refused with a clear error, and the session goes on', () => {
  const r = run(
    [
      '\\copy appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode) from stdin csv',
      "COPY appflow.connector_profiles FROM '/tmp/in.csv'",
      "COPY (SELECT 1) TO '/tmp/out.csv'",
      "SELECT connector_type FROM appflow.connector_profiles WHERE region = 'sa-east-1' AND connector_profile_name = 'copied'",
    ],
    { stdin: 'sa-east-1,copied,Zendesk,Public\n', variables: { VERBOSITY: 'verbose' }, tags: true },
  );
  expect(r.stdout).toContain('COPY 1');
  expect(r.stderr).toMatch(/ERROR:\s+0A000: COPY from a file or program on the server is not supported/);
  expect(r.stderr).toMatch(/HINT:\s+Use COPY \.\.\. FROM STDIN, or psql's \\copy/);
  expect(r.stderr).toMatch(/ERROR:\s+0A000: COPY to a file or program on the server is not supported/);
  expect(r.stdout).toContain('Zendesk');
});

test('a BI column probe (WHERE 1 <> 1 LIMIT 0) answers its columns without listing AWS', () => {
  const r = run(['SELECT * FROM "appflow"."connector_profile" WHERE 1 <> 1 LIMIT 0']);
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  expect(lines(r.stdout)[0]).toMatch(/^connector_profile_arn\|connector_label\|connector_profile_name\|/);
  expect(lines(r.stdout)[1]).toBe('(0 rows)');
  // The same table without the probe's conditions lists, and says so.
  expect(run(['SELECT count(*) FROM appflow.connector_profile']).stderr).toMatch(/NOTICE:\s+listed/);
});

test('a plain LIMIT on the resource table reads only as many resources as it returns', () => {
  const r = run([
    "SELECT connector_profile_name FROM appflow.connector_profile WHERE region = 'us-east-1' LIMIT 2",
  ]);
  expect(r.status).toBe(0);
  expect(lines(r.stdout).slice(1, -1)).toHaveLength(2);
  expect(r.stderr).toMatch(
    /NOTICE:\s+listed 5 connector profiles in us-east-1 .*reading the first 2 for the LIMIT/,
  );
  // With ORDER BY every row matters: all are read.
  const ordered = run([
    "SELECT connector_profile_name FROM appflow.connector_profile WHERE region = 'us-east-1' ORDER BY 1 DESC LIMIT 2",
  ]);
  expect(lines(ordered.stdout).slice(1, -1)).toEqual(['gamma-snow', 'epsilon-slack']);
  expect(ordered.stderr).toMatch(/each row costs one GetResource call/);
});
