import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { catalogDdl, selectCatalog } from '../catalog/index.js';
import { freePort, run, type RunResult } from './support.js';

export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export interface Postgres15 {
  /** Its temp dir: the data dir's parent and the Unix socket's directory (the -h of psql and pgbench). */
  dir: string;
  port: number;
  pid: number;
  /** Runs a SQL script in the database `postgres` with psql -X -A (-q unless `tags`), ON_ERROR_STOP on. */
  psql(sql: string, options?: { tags?: boolean }): Promise<RunResult>;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL 15 (Debian's postgresql-15), for the benchmark's comparison and the postgres_fdw suites: initdb
 * into a temp dir, started with pg_ctl on a Unix socket in that dir (no TCP listener), fsync off, stopped by its PID.
 * postgres refuses to run as root, so as root it runs as the `postgres` system user (.ci/install-clients.sh makes
 * sure it exists).
 */
export async function startPostgres15(): Promise<Postgres15> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-sql-bridge-pg15-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) fs.chownSync(dir, ...idsOf('postgres'));
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
  const log = path.join(dir, 'postgres.log');
  const start = await as(path.join(PG15_BIN, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    log,
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=off -c max_connections=50 -c log_min_messages=warning`,
    'start',
  ]);
  if (start.status !== 0) {
    const logged = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    throw new Error(`pg_ctl start failed:\n${start.stderr}${start.stdout}\n${logged}`);
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
          ...['-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-X', '-A'],
          ...(options.tags ? [] : ['-q']),
          ...['-v', 'ON_ERROR_STOP=1', '-f', '-'],
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

/** PostgreSQL 15 with database aws holding the bridge's DDL for every type (its tables and comments; 6 to 15 s). */
export async function startCatalogReference(): Promise<Postgres15> {
  const postgres = await startPostgres15();
  await postgres.psql('CREATE DATABASE aws');
  const loaded = await run(
    'psql',
    [
      ...['-h', postgres.dir, '-p', String(postgres.port), '-U', 'postgres', '-d', 'aws'],
      ...['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-c', 'SET client_min_messages = warning', '-f', '-'],
    ],
    { input: catalogDdl(selectCatalog([])), timeoutMs: 300_000 },
  );
  if (loaded.status !== 0) throw new Error(`the reference's DDL failed: ${loaded.stderr}`);
  return postgres;
}

function idsOf(user: string): [number, number] {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no system user ${user}: run .ci/install-clients.sh`);
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}
