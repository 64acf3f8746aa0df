import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = '/usr/lib/postgresql/15/bin';

export interface Postgres15 {
  /** Socket directory (the -h of psql and pgbench) and port. */
  host: string;
  port: number;
  /** Runs SQL in database postgres with psql, stopping at the first error. */
  psql(sql: string): void;
  stop(): void;
}

/**
 * A real PostgreSQL 15 (Debian's postgresql-15) for the comparison: initdb in a temp dir, a Unix socket there (no
 * TCP listener), fsync off; as root it runs as the `postgres` system user, since postgres refuses root.
 */
export function startPostgres15(port: number): Postgres15 {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pg15-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) spawnSync('chown', ['postgres:postgres', dir]);
  const run = (cmd: string, args: string[], input?: string) => {
    const r = asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir, input, encoding: 'utf8' })
      : spawnSync(cmd, args, { cwd: dir, input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed:\n${r.stderr}${r.stdout}`);
  };
  run(path.join(bin, 'initdb'), [
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
  run(path.join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    path.join(dir, 'postgres.log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=off -c max_connections=50`,
    'start',
  ]);
  const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    host: dir,
    port,
    psql: (sql) =>
      run(
        'psql',
        ['-h', dir, '-p', String(port), '-U', 'postgres', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
        sql,
      ),
    stop() {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 200; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        spawnSync('sleep', ['0.05']);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
