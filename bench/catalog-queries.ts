/**
 * How fast the catalog answers the clients that browse it, with every registry type served: psql's `\dt *.*` and
 * `\d+ s3.bucket`, pgjdbc's getTables/getColumns over all tables, and SQLAlchemy's inspect() of a schema. Starts the
 * bridge (this build, every type, template cached) against an emulator; each figure is the median of --rounds.
 *
 *   npm run -s build && node dist/bench/catalog-queries.js [--rounds 5] [--schema ec2]
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator } from '../emulator/index.js';
import { exampleAwsEnv, listeningPort } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    schema: { type: 'string', multiple: true },
  },
});
const rounds = Number(values.rounds);
const schemas = values.schema ?? ['s3', 'ec2'];
const root = path.resolve(import.meta.dirname, '..', '..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const emulator = await startEmulator({ port: 0, logLevel: 'silent' });
const bridge = spawn(
  process.execPath,
  [
    path.join(root, 'dist/server/main.js'),
    '--port',
    '0',
    '--endpoint',
    emulator.endpoint,
    '--region',
    'us-east-1',
  ],
  {
    env: exampleAwsEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const port = await listeningPort(bridge);

const rows: [string, string, string][] = [];
try {
  const conninfo = `host=127.0.0.1 port=${port} dbname=aws user=postgres`;
  const psql = (command: string) => {
    const times: number[] = [];
    let lines = 0;
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const r = spawnSync('psql', [conninfo, '-X', '-A', '-c', command], { encoding: 'utf8' });
      times.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`psql -c '${command}': ${r.stderr}`);
      lines = r.stdout.split('\n').length;
    }
    return { times, lines };
  };
  const baseline = psql('SELECT 1');
  rows.push(['psql -c `SELECT 1` (psql start, connect, one query)', fmt(baseline.times), '1 row']);
  for (const command of ['\\dt *.*', '\\d+ s3.bucket']) {
    const r = psql(command);
    rows.push([`psql -c \`${command}\``, fmt(r.times), `${r.lines} lines`]);
  }

  const java = spawnSync(
    'java',
    [
      '-cp',
      '/usr/share/java/postgresql.jar',
      path.join(root, 'bench/clients/JdbcMetadata.java'),
      `jdbc:postgresql://127.0.0.1:${port}/aws`,
      'postgres',
      '',
      String(rounds),
    ],
    { encoding: 'utf8' },
  );
  if (java.status !== 0) throw new Error(`JdbcMetadata: ${java.stderr}`);
  const jdbc = JSON.parse(java.stdout) as {
    getTables: number[];
    tables: number;
    getColumns: number[];
    columns: number;
  };
  rows.push(['pgjdbc getTables(null, null, "%", TABLE)', fmt(jdbc.getTables), `${jdbc.tables} rows`]);
  rows.push(['pgjdbc getColumns(null, null, "%", "%")', fmt(jdbc.getColumns), `${jdbc.columns} rows`]);

  for (const schema of schemas) {
    const py = spawnSync(
      '/usr/bin/python3',
      [
        path.join(root, 'bench/clients/sqlalchemy_inspect.py'),
        `postgresql+psycopg2://postgres@127.0.0.1:${port}/aws`,
        schema,
        String(rounds),
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH } },
    );
    if (py.status !== 0) throw new Error(`sqlalchemy_inspect: ${py.stderr}`);
    const inspect = JSON.parse(py.stdout) as { inspect: number[]; tables: number; columns: number };
    rows.push([
      `SQLAlchemy inspect(): get_table_names + get_columns of each table, schema ${schema}`,
      fmt(inspect.inspect),
      `${inspect.tables} tables, ${inspect.columns} columns`,
    ]);
  }
} finally {
  bridge.kill('SIGTERM');
  await emulator.close();
}

function fmt(times: number[]): string {
  return `${Math.round(median(times))} (${times.map((t) => Math.round(t)).join(', ')})`;
}

const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`## Catalog queries, every type (${new Date().toISOString()}, ${rounds} rounds, load ${load})\n`);
console.log('| client call | median ms (each round) | answer |');
console.log('| --- | --- | --- |');
for (const [what, ms, answer] of rows) console.log(`| ${what} | ${ms} | ${answer} |`);
