/**
 * Shared by the real-client compatibility suites in test/compat/: how to run a client as a child process,
 * the data every suite seeds, and where the clients live. The clients are installed from Debian 12 packages
 * by .ci/install-clients.sh; each suite drives one of them against its own emulator + bridge.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../support/processes.js';
import type { Profile } from '../support/stack.js';

export const clientsDir = path.join(projectRoot, 'test', 'compat', 'clients');

/** Debian's own Python 3.11 (python3-psycopg2, python3-psycopg, python3-sqlalchemy, python3-pandas), not pyenv's. */
export const PYTHON = '/usr/bin/python3';
export const PG15_BIN = '/usr/lib/postgresql/15/bin';
export const JDBC_JAR = '/usr/share/java/postgresql.jar';

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (asynchronously, so jest's timers keep running) and collects its output. */
export function run(
  command: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? projectRoot,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[harness] ${command} killed after ${options.timeoutMs ?? 120000} ms`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

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

/** A free TCP port on loopback (the local PostgreSQL only takes its socket file's name from it). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as import('node:net').AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalPostgres {
  dir: string;
  port: number;
  pid: number;
  /** Runs a SQL script in the local database `postgres` with psql -X -A (-q unless `tags`), ON_ERROR_STOP on. */
  psql(sql: string, options?: { tags?: boolean }): Promise<RunResult>;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL 15 (Debian's postgresql-15) for the postgres_fdw suites: initdb into a temp dir, started
 * with pg_ctl on a Unix socket in that dir (no TCP listener), stopped by its PID. postgres refuses to run
 * as root, so as root it runs as the `postgres` system user (.ci/install-clients.sh makes sure it exists).
 */
export async function startLocalPostgres(): Promise<LocalPostgres> {
  const dir = tempDir('pg15');
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) fs.chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  const as = (cmd: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir })
      : run(cmd, args, { cwd: dir });
  const init = await as(path.join(PG15_BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stderr}${init.stdout}`);
  const port = await freePort();
  const start = await as(path.join(PG15_BIN, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    path.join(dir, 'postgres.log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=off -c log_min_messages=warning`,
    'start',
  ]);
  if (start.status !== 0) {
    const log = fs.existsSync(path.join(dir, 'postgres.log'))
      ? fs.readFileSync(path.join(dir, 'postgres.log'), 'utf8')
      : '';
    throw new Error(`pg_ctl start failed:\n${start.stderr}${start.stdout}\n${log}`);
  }
  const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    dir,
    port,
    pid,
    psql: (sql, options = {}) =>
      run(
        'psql',
        [
          '-h',
          dir,
          '-p',
          String(port),
          '-U',
          'postgres',
          '-d',
          'postgres',
          '-X',
          '-A',
          ...(options.tags ? [] : ['-q']),
          '-v',
          'ON_ERROR_STOP=1',
          '-f',
          '-',
        ],
        { input: sql, env: { PAGER: '' } },
      ),
    async stop() {
      try {
        process.kill(pid, 'SIGINT'); // fast shutdown
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 200; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function uidOf(user: string): number {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no system user ${user}: run .ci/install-clients.sh`);
  return Number(line.split(':')[2]);
}
function gidOf(user: string): number {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`))!;
  return Number(line.split(':')[3]);
}

/** The first ```sql block of docs/CLIENTS.md that contains `marker`: the suites run the documented recipe. */
export function docRecipe(marker: string): string {
  const doc = fs.readFileSync(path.join(projectRoot, 'docs', 'CLIENTS.md'), 'utf8');
  const block = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`docs/CLIENTS.md has no sql block with ${marker}`);
  return block;
}
