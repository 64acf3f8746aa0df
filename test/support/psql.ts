import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface PsqlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Where psql connects; no `database`: libpq's default (the user name), as a user who names none gets. */
export interface PsqlConnection {
  host: string;
  port: number;
  user: string;
  database?: string;
  password?: string;
}

export interface PsqlOptions {
  aligned?: boolean;
  /** `-t`: rows only, no header or row count. */
  tuplesOnly?: boolean;
  stdin?: string | Buffer;
  /** `-f`: a script file, run as a user runs a .sql file (errors name the file and line). */
  file?: string;
  variables?: Record<string, string>;
  tags?: boolean;
  sslmode?: string;
  /** More environment, e.g. PGCLIENTENCODING. */
  env?: NodeJS.ProcessEnv;
}

/** The argv and environment of the real psql 15 client: `-X` (no psqlrc), unaligned output unless `aligned`. */
function psqlCommand(
  conn: PsqlConnection,
  commands: string[],
  options: PsqlOptions,
): { args: string[]; env: NodeJS.ProcessEnv } {
  const ssl = options.sslmode ? ` sslmode=${options.sslmode}` : '';
  const dbname = conn.database === undefined ? '' : ` dbname=${conn.database}`;
  const args = [`host=${conn.host} port=${conn.port}${dbname} user=${conn.user}${ssl}`, '-X'];
  // -q hides command tags (UPDATE 1); tests that assert them keep them.
  if (!options.tags) args.push('-q');
  if (!options.aligned) args.push('-A', '-F', '|');
  if (options.tuplesOnly) args.push('-t');
  for (const [k, v] of Object.entries(options.variables ?? {})) args.push('-v', `${k}=${v}`);
  for (const c of commands) args.push('-c', c);
  if (options.file) args.push('-f', options.file);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGPASSWORD: conn.password ?? '',
    PGCONNECT_TIMEOUT: '10',
    PAGER: '',
    ...options.env,
  };
  if (conn.database === undefined) delete env.PGDATABASE;
  return { args, env };
}

/** Runs psql to its end, blocking this process (fine while the servers run as other processes). */
export function psql(conn: PsqlConnection, commands: string[], options: PsqlOptions = {}): PsqlResult {
  const r = psqlBytes(conn, commands, options);
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** The same, its output kept as bytes (for client encodings other than UTF-8). */
export function psqlBytes(
  conn: PsqlConnection,
  commands: string[],
  options: PsqlOptions = {},
): { status: number | null; stdout: Buffer; stderr: Buffer } {
  const { args, env } = psqlCommand(conn, commands, options);
  const r = spawnSync('psql', args, { input: options.stdin, timeout: 60000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** psql started and left running (its output ignored): a client a test kills mid-statement. */
export function spawnPsql(conn: PsqlConnection, commands: string[], options: PsqlOptions = {}): ChildProcess {
  const { args, env } = psqlCommand(conn, commands, options);
  return spawn('psql', args, { stdio: 'ignore', env });
}

/** psql run to its end without blocking this process: for suites whose servers run in it (an in-process emulator). */
export function psqlAsync(
  conn: PsqlConnection,
  commands: string[],
  options: PsqlOptions = {},
): Promise<PsqlResult> {
  const { args, env } = psqlCommand(conn, commands, options);
  return new Promise((resolve, reject) => {
    const child = spawn('psql', args, { env, timeout: 60000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
