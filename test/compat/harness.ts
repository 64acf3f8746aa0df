/**
 * Shared by the real-client compatibility suites in test/compat/: how to run a client as a child process,
 * the data every suite seeds, and where the clients live. The clients are installed from Debian 12 packages
 * by .ci/install-clients.sh; each suite drives one of them against its own emulator + bridge.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../support/processes.js';
import type { Profile } from '../support/stack.js';
import { freePort, run, type RunResult } from '../../bench/support.js';
import { startPostgres15, type Postgres15 } from '../../bench/postgres15.js';

export { freePort, run, type RunResult };
export { PG15_BIN } from '../../bench/postgres15.js';
/** The real PostgreSQL 15 of the postgres_fdw and conformance suites, shared with the benchmark. */
export const startLocalPostgres = startPostgres15;
export type LocalPostgres = Postgres15;

export const clientsDir = path.join(projectRoot, 'test', 'compat', 'clients');

/** Debian's own Python 3.11 (python3-psycopg2, python3-psycopg, python3-sqlalchemy, python3-pandas), not pyenv's. */
export const PYTHON = '/usr/bin/python3';
export const JDBC_JAR = '/usr/share/java/postgresql.jar';

/**
 * Runs test/compat/clients/<script> with Debian's python3. The script prints one JSON document on stdout
 * (what the client saw); a non-zero exit fails the test with the script's stderr (the client's traceback).
 */
export async function runPython<T = Record<string, unknown>>(
  script: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<T> {
  const r = await run(PYTHON, ['-X', 'utf8', path.join(clientsDir, script), ...args], {
    // Debian's python must not pick up pyenv's site-packages or a user's PYTHONPATH.
    env: { ...env, PYTHONPATH: '', PYTHONNOUSERSITE: '1', PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.status !== 0) throw new Error(`${script} exited ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`${script} printed no JSON:\n${r.stdout}\n${r.stderr}`);
  }
}

/** Runs test/compat/clients/JdbcClient.java (pgjdbc) against a bridge as user bi, password bi-pw. */
export function runJdbcClient(port: number, mode: 'read' | 'write'): Promise<RunResult> {
  return run('java', [
    '-cp',
    JDBC_JAR,
    path.join(clientsDir, 'JdbcClient.java'),
    `jdbc:postgresql://127.0.0.1:${port}/aws`,
    'bi',
    'bi-pw',
    mode,
  ]);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `aws-sql-bridge-${prefix}-`));
}

/** The profiles every compat suite seeds: five in us-east-1, three in eu-west-1. */
export const EAST: Profile[] = [
  { ConnectorProfileName: 'sf-prod', ConnectorType: 'Salesforce', ConnectionMode: 'Public' },
  { ConnectorProfileName: 'sf-sandbox', ConnectorType: 'Salesforce', ConnectionMode: 'Private' },
  { ConnectorProfileName: 'snowflake-dw', ConnectorType: 'Snowflake', ConnectionMode: 'Public' },
  {
    ConnectorProfileName: 'inventory-api',
    ConnectorType: 'CustomConnector',
    ConnectionMode: 'Public',
    ConnectorLabel: 'InventoryConnector',
  },
  {
    ConnectorProfileName: 'slack-ops',
    ConnectorType: 'Slack',
    ConnectionMode: 'Public',
    KMSArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  },
];
export const WEST: Profile[] = [
  { ConnectorProfileName: 'zendesk-support', ConnectorType: 'Zendesk', ConnectionMode: 'Public' },
  { ConnectorProfileName: 'datadog-eu', ConnectorType: 'Datadog', ConnectionMode: 'Public' },
  { ConnectorProfileName: 'sf-eu', ConnectorType: 'Salesforce', ConnectionMode: 'Private' },
];

/** The columns of both tables in table order, with their types, as \d shows them. */
export const COLUMNS: [string, string][] = [
  ['connector_profile_arn', 'text'],
  ['connector_label', 'text'],
  ['connector_profile_name', 'text'],
  ['kms_arn', 'text'],
  ['connector_type', 'text'],
  ['connection_mode', 'text'],
  ['connector_profile_config', 'jsonb'],
  ['credentials_arn', 'text'],
  ['region', 'text'],
  ['data__identifier', 'text'],
  ['data__patchdocument', 'text'],
  ['account_id', 'text'],
  ['account_name', 'text'],
];

/** Column descriptions from the registry schema (COMMENT ON COLUMN), as \d+, JDBC REMARKS and SQLAlchemy show them. */
export const DESCRIPTIONS: Record<string, string> = {
  connector_profile_arn: 'Unique identifier for connector profile resources',
  connector_profile_name: 'The maximum number of items to retrieve in a single batch.',
  connector_type: 'List of Saas providers that need connector profile to be created',
  connector_profile_config: 'Connector specific configurations needed to create connector profile',
  credentials_arn: 'A unique Arn for Connector-Profile resource',
  region: 'AWS region.',
};
export const TABLE_DESCRIPTION = 'Resource Type definition for AWS::AppFlow::ConnectorProfile';
export const LIST_TABLE_DESCRIPTION =
  'Lists, creates and deletes AWS::AppFlow::ConnectorProfile resources; use connector_profile to get or update one';

export const arnOf = (region: string, name: string) =>
  `arn:aws:appflow:${region}:123456789012:connectorprofile/${name}`;

export const sorted = <T>(xs: T[]) => [...xs].sort();

/** The first ```sql block of docs/CLIENTS.md that contains `marker`: the suites run the documented recipe. */
export function docRecipe(marker: string): string {
  const doc = fs.readFileSync(path.join(projectRoot, 'docs', 'CLIENTS.md'), 'utf8');
  const block = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`docs/CLIENTS.md has no sql block with ${marker}`);
  return block;
}
