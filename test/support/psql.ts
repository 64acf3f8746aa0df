import { spawnSync } from 'node:child_process';

export interface PsqlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real psql 15 client: `-X` (no psqlrc), unaligned output unless `aligned`, input from `-c`s or stdin. */
export function psql(
  conn: { host: string; port: number; user: string; database: string; password?: string },
  commands: string[],
  options: {
    aligned?: boolean;
    stdin?: string;
    variables?: Record<string, string>;
    tags?: boolean;
    sslmode?: string;
  } = {},
): PsqlResult {
  const ssl = options.sslmode ? ` sslmode=${options.sslmode}` : '';
  const args = [`host=${conn.host} port=${conn.port} dbname=${conn.database} user=${conn.user}${ssl}`, '-X'];
  // -q hides command tags (UPDATE 1); tests that assert them keep them.
  if (!options.tags) args.push('-q');
  if (!options.aligned) args.push('-A', '-F', '|');
  for (const [k, v] of Object.entries(options.variables ?? {})) args.push('-v', `${k}=${v}`);
  for (const c of commands) args.push('-c', c);
  const r = spawnSync('psql', args, {
    input: options.stdin,
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, PGPASSWORD: conn.password ?? '', PGCONNECT_TIMEOUT: '10', PAGER: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
