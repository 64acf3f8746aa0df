/**
 * How fast the catalog answers the clients that browse it, with every registry type served: psql's `\dt *.*` and
 * `\d+ s3.bucket`, pgjdbc's getTables/getColumns over all tables, and SQLAlchemy's inspect() of a schema. Starts the
 * bridge (this build, every type, template cached) against an emulator. Each client call runs --rounds times: the
 * first (on engines that have not run it yet, so PostgreSQL's caches and V8's optimized WASM for it are cold) and
 * the median of the repeats are reported apart.
 *
 *   npm run -s build && node dist/bench/catalog-queries.js [--rounds 5] [--schema ec2]
 *     [--bridge other/dist/server/main.js] [--node-option=--no-liftoff] [--clients sqlalchemy] [--after-ready 2000]
 *     [--reference]
 * --bridge: another build's main.js, to compare builds in one run; --node-option: a flag for the bridge's node;
 * --clients: which of psql, jdbc, sqlalchemy run (default all, in that order: only the first one's first call meets
 * engines that ran no client statement yet); --after-ready: ms to wait between the bridge's "listening" and the
 * first client (default 0: at once, while the engines may still be warming up); --reference: the same psql commands and
 * SQLAlchemy reflection against a real PostgreSQL 15 holding the same DDL (every type's tables and comments, loaded
 * before the bridge starts, 6 to 8 s; reached on its Unix socket), run after the bridge's rounds: what the clients
 * themselves take.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator } from '../emulator/index.js';
import { startCatalogReference } from './postgres15.js';
import { exampleAwsEnv, listeningPort, sqlalchemyInspect } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    schema: { type: 'string', multiple: true },
    bridge: { type: 'string' },
    'node-option': { type: 'string', multiple: true },
    clients: { type: 'string', default: 'psql,jdbc,sqlalchemy' },
    'after-ready': { type: 'string', default: '0' },
    reference: { type: 'boolean', default: false },
  },
});
const clients = new Set(values.clients!.split(','));
const rounds = Number(values.rounds);
const schemas = values.schema ?? ['s3', 'ec2'];
const root = path.resolve(import.meta.dirname, '..', '..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadAtStart = loadAverage();

const reference = values.reference ? await startCatalogReference() : undefined;

const emulator = await startEmulator({ port: 0, logLevel: 'silent' });
const bridge = spawn(
  process.execPath,
  [
    ...(values['node-option'] ?? []),
    path.resolve(values.bridge ?? path.join(root, 'dist/server/main.js')),
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
await new Promise((resolve) => setTimeout(resolve, Number(values['after-ready'])));

/**
 * CPU time the bridge (all its threads: main, engines) has used so far, in ms, from the scheduler's per-thread
 * counters: what a call costs the bridge, which the machine's load disturbs less than wall time.
 */
function bridgeCpuMs(): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${bridge.pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${bridge.pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return ns / 1e6;
}

/** What a call took, wall and the bridge's CPU. */
interface Timed {
  ms: number;
  cpuMs: number;
}
function timed<T>(call: () => T): [T, Timed] {
  const cpu0 = bridgeCpuMs();
  const t0 = performance.now();
  const result = call();
  return [result, { ms: performance.now() - t0, cpuMs: bridgeCpuMs() - cpu0 }];
}

const rows: [string, string, string, string, string][] = [];
try {
  const conninfo = `host=127.0.0.1 port=${port} dbname=aws user=postgres`;
  const psql = (command: string, target = conninfo) => {
    const times: Timed[] = [];
    let lines = 0;
    for (let i = 0; i < rounds; i++) {
      const [r, time] = timed(() =>
        spawnSync('psql', [target, '-X', '-A', '-c', command], { encoding: 'utf8' }),
      );
      times.push(time);
      if (r.status !== 0) throw new Error(`psql -c '${command}': ${r.stderr}`);
      lines = r.stdout.split('\n').length;
    }
    return { times, lines };
  };
  const psqlCommands = ['\\dt *.*', '\\d+ s3.bucket'];
  if (clients.has('psql')) {
    const baseline = psql('SELECT 1');
    rows.push(['psql -c `SELECT 1` (psql start, connect, one query)', ...fmt(baseline.times), '1 row']);
    for (const command of psqlCommands) {
      const r = psql(command);
      rows.push([`psql -c \`${command}\``, ...fmt(r.times), `${r.lines} lines`]);
    }
  }

  const cpuBeforeJava = bridgeCpuMs();
  const java = !clients.has('jdbc')
    ? undefined
    : spawnSync(
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
  if (java) {
    // pgjdbc runs all its rounds in one JVM: the bridge's CPU is known for all of them together only.
    const cpu = `${Math.round(bridgeCpuMs() - cpuBeforeJava)} for all rounds of both`;
    if (java.status !== 0) throw new Error(`JdbcMetadata: ${java.stderr}`);
    const jdbc = JSON.parse(java.stdout) as {
      getTables: number[];
      tables: number;
      getColumns: number[];
      columns: number;
    };
    const wall = (ms: number[]) => ms.map((m) => ({ ms: m, cpuMs: NaN }));
    rows.push([
      'pgjdbc getTables(null, null, "%", TABLE)',
      ...fmt(wall(jdbc.getTables)).slice(0, 2),
      cpu,
      `${jdbc.tables} rows`,
    ] as Row);
    rows.push([
      'pgjdbc getColumns(null, null, "%", "%")',
      ...fmt(wall(jdbc.getColumns)).slice(0, 2),
      cpu,
      `${jdbc.columns} rows`,
    ] as Row);
  }

  /** SQLAlchemy's reflection of a schema, one Python process per round, only the reflection timed. */
  const reflect = (url: string, schema: string) => {
    // One process per round, so that the bridge's CPU is known per round; each round reflects afresh anyway (a
    // new Inspector), and only the reflection is timed, not Python's start.
    const times: Timed[] = [];
    let answer = '';
    for (let i = 0; i < rounds; i++) {
      const cpu0 = bridgeCpuMs();
      const inspect = sqlalchemyInspect(url, schema);
      times.push({ ms: inspect.reflections[0]!.ms, cpuMs: bridgeCpuMs() - cpu0 });
      answer = inspect.answer;
    }
    return { times, answer };
  };
  const reflection = (schema: string) =>
    `SQLAlchemy inspect(): get_table_names + get_columns of each table, schema ${schema}`;
  for (const schema of clients.has('sqlalchemy') ? schemas : []) {
    const { times, answer } = reflect(`postgresql+psycopg2://postgres@127.0.0.1:${port}/aws`, schema);
    rows.push([reflection(schema), ...fmt(times), answer]);
  }

  if (reference) {
    // After the bridge's rounds, with the bridge idle: the same clients against PostgreSQL 15 (its CPU is not
    // counted: the column says n/a).
    const onReference = (row: [string, string, string, string, string]): Row => [
      `reference PostgreSQL 15 (Unix socket): ${row[0]}`,
      row[1],
      row[2],
      'n/a',
      row[4],
    ];
    const target = `host=${reference.dir} port=${reference.port} dbname=aws user=postgres`;
    for (const command of clients.has('psql') ? psqlCommands : []) {
      const r = psql(command, target);
      rows.push(onReference([`psql -c \`${command}\``, ...fmt(r.times), `${r.lines} lines`]));
    }
    for (const schema of clients.has('sqlalchemy') ? schemas : []) {
      const url = `postgresql+psycopg2://postgres@/aws?host=${reference.dir}&port=${reference.port}`;
      const { times, answer } = reflect(url, schema);
      rows.push(onReference([reflection(schema), ...fmt(times), answer]));
    }
  }
} finally {
  bridge.kill('SIGTERM');
  await emulator.close();
  await reference?.stop();
}

type Row = [string, string, string, string, string];

/** The first call, then the median of the repeats with each one; the bridge's CPU for the first call / the repeats' median. */
function fmt(times: Timed[]): [string, string, string] {
  const [first, ...repeats] = times.map((t) => Math.round(t.ms));
  const [firstCpu, ...repeatsCpu] = times.map((t) => Math.round(t.cpuMs));
  return [
    String(first),
    repeats.length === 0 ? '' : `${median(repeats)} (${repeats.join(', ')})`,
    repeatsCpu.length === 0 ? String(firstCpu) : `${firstCpu} / ${median(repeatsCpu)}`,
  ];
}

const options = [
  ...(values['node-option'] ?? []),
  ...(values.bridge ? [`bridge ${values.bridge}`] : []),
  ...(values.clients === 'psql,jdbc,sqlalchemy' ? [] : [`clients ${values.clients}`]),
  ...(values['after-ready'] === '0' ? [] : [`first client ${values['after-ready']} ms after ready`]),
  ...(values.reference ? ['reference PostgreSQL 15'] : []),
];
console.log(
  `## Catalog queries, every type (${new Date().toISOString()}, ${rounds} rounds${options.length ? `, ${options.join(' ')}` : ''}, load ${loadAtStart} at start, ${loadAverage()} at end)\n`,
);
console.log(
  '| client call | first ms | repeats: median ms (each) | bridge CPU ms: first / repeats (median) | answer |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const [what, first, repeats, cpu, answer] of rows)
  console.log(`| ${what} | ${first} | ${repeats} | ${cpu} | ${answer} |`);
