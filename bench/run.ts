/**
 * Measures the bridge end to end, through a real client over loopback, against the built-in emulator:
 * time to ready and RSS of the server process, latency of typical statements, and throughput with
 * concurrent clients; then, for each engine count, a mixed workload (a few clients running a 200 ms statement
 * while the others get by identifier) and the wait of a get right after another session's statement was
 * cancelled. Every figure comes from one run, so compare them as ratios; the machine is shared.
 *
 * First the targets of issue 12 (bench/targets.ts): the bridge beside the direct AWS SDK and a real PostgreSQL 15.
 *
 *   npm run bench -- [--figures all|targets|pgbench|engines] [--resources 200] [--iterations 200] [--clients 8]
 *                    [--engines 1,2] [--slow-clients 1,2] [--mixed-seconds 5] [--large 10000]
 *                    [--targets point,pgbench,fanout,idle,count] [--baseline <another build>/dist/server/main.js]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudControlClient, CreateResourceCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { startEmulator } from '../emulator/index.js';
import { runTargets, targetNames, type Bridge, type TargetName } from './targets.js';
import { exampleAwsEnv, exampleCredentials, freePort, listeningPort } from './support.js';

const { values } = parseArgs({
  options: {
    resources: { type: 'string', default: '200' },
    iterations: { type: 'string', default: '200' },
    clients: { type: 'string', default: '8' },
    /** Bridge runs, one per engine count (the bridge's --engines). */
    engines: { type: 'string', default: '1,2' },
    /** Of the --clients, how many run SELECT pg_sleep(0.2) in the mixed workload: one run per count. */
    'slow-clients': { type: 'string', default: '1,2' },
    'mixed-seconds': { type: 'string', default: '5' },
    /** `targets`: issue 12's ratios only; `pgbench`: its cached point reads alone; `engines`: the runs per engine count only. */
    figures: { type: 'string', default: 'all' },
    /** Resources of one type for the count(*) target (0 skips it). */
    large: { type: 'string', default: '10000' },
    /** Which of the targets to run (bench/targets.ts: point, pgbench, fanout, idle, count). */
    targets: { type: 'string', default: targetNames.join(',') },
    /** Another build's dist/server/main.js: the point reads and the count run through it too, interleaved (before/after). */
    baseline: { type: 'string' },
  },
});
const selectedTargets = new Set(
  (values.figures === 'pgbench' ? 'pgbench' : values.targets).split(',').map((t) => t.trim()) as TargetName[],
);
for (const t of selectedTargets)
  if (!(targetNames as readonly string[]).includes(t))
    throw new Error(`--targets: no figure "${t}" (one of ${targetNames.join(', ')})`);
const resources = Number(values.resources);
const iterations = Number(values.iterations);
const clients = Number(values.clients);
const engineCounts = values.engines.split(',').map(Number);
const slowCounts = values['slow-clients'].split(',').map(Number);
const mixedMs = Number(values['mixed-seconds']) * 1000;
const region = 'us-east-1';
const credentials = exampleCredentials;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timeQuery(client: pg.Client, sql: string, params: unknown[], n: number) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await client.query(sql, params);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

const emulator = await startEmulator({ port: 0, completionDelayMs: 5 });
const sdk = new CloudControlClient({ region, endpoint: emulator.endpoint, credentials });
await Promise.all(
  Array.from({ length: resources }, (_, i) =>
    sdk.send(
      new CreateResourceCommand({
        TypeName: 'AWS::AppFlow::ConnectorProfile',
        DesiredState: JSON.stringify({
          ConnectorProfileName: `bench-${String(i).padStart(5, '0')}`,
          ConnectorType: i % 2 ? 'Salesforce' : 'Snowflake',
          ConnectionMode: 'Public',
        }),
      }),
    ),
  ),
);
await new Promise((r) => setTimeout(r, 200));

function startBridge(cacheTtlMs: number, engines: number) {
  return spawnBridge(['--cache-ttl-ms', String(cacheTtlMs), '--engines', String(engines)]);
}

/** The bridge as its own process on the emulator; later flags win over the defaults here. */
async function spawnBridge(args: string[], main?: string): Promise<Bridge> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      main ?? path.join(import.meta.dirname, '../server/main.js'),
      '--port',
      '0',
      '--endpoint',
      emulator.endpoint,
      '--region',
      region,
      '--log-level',
      'error',
      ...args,
    ],
    {
      env: exampleAwsEnv,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const port = await listeningPort(child);
  return { child, port, readyMs: Date.now() - started };
}

const statements: [string, string, unknown[]][] = [
  ['SELECT 1 (engine only)', 'SELECT 1', []],
  [
    'catalog query (\\dt)',
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'appflow'",
    [],
  ],
  [
    'get one by identifier',
    'SELECT * FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
    [region, 'bench-00007'],
  ],
  [`list ${resources} (collection)`, 'SELECT * FROM appflow.connector_profiles WHERE region = $1', [region]],
  [
    `aggregate over ${resources}`,
    'SELECT connector_type, count(*) FROM appflow.connector_profiles WHERE region = $1 GROUP BY 1',
    [region],
  ],
  [
    `list + get ${resources} (resource table)`,
    'SELECT count(*) FROM appflow.connector_profile WHERE region = $1',
    [region],
  ],
];

const getSql =
  'SELECT connector_type FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2';
const profileId = (n: number) => `bench-${String(n % resources).padStart(5, '0')}`;

async function connect(port: number, n: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'aws' });
      await c.connect();
      c.on('notice', () => {});
      return c;
    }),
  );
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/**
 * `slow` clients loop on SELECT pg_sleep(0.2) (a long statement: it holds an engine for 200 ms) while the other
 * clients loop on gets by identifier, for `durationMs`.
 */
async function mixedWorkload(port: number, total: number, slow: number, durationMs: number) {
  const pool = await connect(port, total);
  const getMs: number[] = [];
  const sleepMs: number[] = [];
  const started = Date.now();
  const end = started + durationMs;
  await Promise.all(
    pool.map(async (c, i) => {
      for (let k = 0; Date.now() < end; k++) {
        const t = process.hrtime.bigint();
        if (i < slow) await c.query('SELECT pg_sleep(0.2)');
        else await c.query(getSql, [region, profileId(i * 7 + k)]);
        (i < slow ? sleepMs : getMs).push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const elapsedS = (Date.now() - started) / 1000;
  await Promise.all(pool.map((c) => c.end()));
  const gets = sorted(getMs);
  const sleeps = sorted(sleepMs);
  return {
    getsPerS: gets.length / elapsedS,
    getP50: percentile(gets, 50),
    getP95: percentile(gets, 95),
    sleepsPerS: sleeps.length / elapsedS,
    sleepP50: percentile(sleeps, 50),
  };
}

/**
 * One session's statement is cancelled (statement_timeout 100 ms on a pg_sleep(5)), and another session sends a
 * get by identifier as soon as the cancel's error arrived: with one engine, the get waits for the engine's
 * restart. Rounds are 2 s apart, so that each starts with every engine open.
 */
async function getAfterCancel(port: number, rounds: number) {
  const [a, b] = await connect(port, 2);
  await a.query('SET statement_timeout = 100');
  await b.query(getSql, [region, profileId(1)]);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await new Promise((res) => setTimeout(res, 2000));
    const code = await a.query('SELECT pg_sleep(5)').then(
      () => 'none',
      (err: { code?: string }) => err.code,
    );
    if (code !== '57014') throw new Error(`expected a cancel (57014), got ${code}`);
    const t = process.hrtime.bigint();
    await b.query(getSql, [region, profileId(r)]);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await Promise.all([a, b].map((c) => c.end()));
  return sorted(times);
}

interface Figures {
  readyMs: number;
  rssStart: number;
  rssEnd: number;
  select1: number;
  get: number;
  getsPerS: number;
  mixed: Awaited<ReturnType<typeof mixedWorkload>>[];
  afterCancel: number[];
}

const report: string[] = [];
if (values.figures !== 'engines') {
  const sdks = new Map<string, CloudControlClient>();
  report.push(
    ...(await runTargets({
      emulator,
      sdk: (r) => {
        if (!sdks.has(r))
          sdks.set(r, new CloudControlClient({ region: r, endpoint: emulator.endpoint, credentials }));
        return sdks.get(r)!;
      },
      startBridge: spawnBridge,
      stopBridge: async (bridge) => {
        bridge.child.kill('SIGTERM');
        await new Promise((r) => bridge.child.once('exit', r));
      },
      rssMb,
      region,
      resources,
      profileId,
      iterations,
      large: Number(values.large),
      freePort,
      targets: selectedTargets,
      baseline: values.baseline,
    })),
  );
  for (const c of sdks.values()) c.destroy();
}
const figures = new Map<string, Figures>();
for (const engines of values.figures === 'targets' || values.figures === 'pgbench' ? [] : engineCounts) {
  for (const cacheTtlMs of [0, 5000]) {
    const bridge = await startBridge(cacheTtlMs, engines);
    const rssStart = rssMb(bridge.child.pid!);
    const [client] = await connect(bridge.port, 1);
    report.push(`\n### ${engines} engine${engines === 1 ? '' : 's'}, cache TTL ${cacheTtlMs} ms\n`);
    report.push(`time to ready: ${bridge.readyMs} ms; RSS after start: ${rssStart.toFixed(0)} MB\n`);
    report.push('| statement | p50 ms | p95 ms |', '|---|---|---|');
    const p50s: number[] = [];
    for (const [name, sql, params] of statements) {
      const n = name.includes('list + get') ? Math.max(5, Math.floor(iterations / 20)) : iterations;
      await timeQuery(client!, sql, params, 3);
      const { p50, p95 } = await timeQuery(client!, sql, params, n);
      p50s.push(p50);
      report.push(`| ${name} | ${p50.toFixed(2)} | ${p95.toFixed(2)} |`);
    }
    const pool = await connect(bridge.port, clients);
    const t = Date.now();
    await Promise.all(
      pool.map(async (c, i) => {
        for (let k = 0; k < iterations / 4; k++) await c.query(getSql, [region, profileId(i * 7 + k)]);
      }),
    );
    const total = clients * Math.floor(iterations / 4);
    const getsPerS = (total / (Date.now() - t)) * 1000;
    report.push(`\n${clients} clients, ${total} gets by identifier: ${getsPerS.toFixed(0)} statements/s`);
    await Promise.all(pool.map((c) => c.end()));

    const mixed: Figures['mixed'] = [];
    for (const slow of slowCounts) {
      const m = await mixedWorkload(bridge.port, clients, slow, mixedMs);
      mixed.push(m);
      report.push(
        `${clients} clients for ${mixedMs / 1000} s, ${slow} of them running SELECT pg_sleep(0.2): ` +
          `gets ${m.getsPerS.toFixed(0)}/s (p50 ${m.getP50.toFixed(1)} ms, p95 ${m.getP95.toFixed(1)} ms), ` +
          `sleeps ${m.sleepsPerS.toFixed(1)}/s (p50 ${m.sleepP50.toFixed(0)} ms)`,
      );
    }
    const afterCancel = await getAfterCancel(bridge.port, 4);
    report.push(
      `get right after another session's cancel: ${afterCancel.map((x) => x.toFixed(0)).join(', ')} ms`,
    );
    const rssEnd = rssMb(bridge.child.pid!);
    report.push(`RSS after the run: ${rssEnd.toFixed(0)} MB`);
    figures.set(`${engines}/${cacheTtlMs}`, {
      readyMs: bridge.readyMs,
      rssStart,
      rssEnd,
      select1: p50s[0]!,
      get: p50s[2]!,
      getsPerS,
      mixed,
      afterCancel,
    });
    await client!.end();
    bridge.child.kill('SIGTERM');
    await new Promise((r) => bridge.child.once('exit', r));
  }
}

// Each engine count side by side, with the ratio of the last to the first.
if (engineCounts.length > 1 && values.figures !== 'targets' && values.figures !== 'pgbench') {
  const rows: [string, (f: Figures) => number, number][] = [
    ['time to ready (ms)', (f) => f.readyMs, 0],
    ['RSS after start (MB)', (f) => f.rssStart, 0],
    ['RSS after the run (MB)', (f) => f.rssEnd, 0],
    ['SELECT 1 p50 (ms)', (f) => f.select1, 2],
    ['get by identifier p50 (ms)', (f) => f.get, 2],
    [`${clients} clients, gets/s`, (f) => f.getsPerS, 0],
    ...slowCounts.flatMap((slow, i): [string, (f: Figures) => number, number][] => [
      [`mixed, ${slow} slow: gets/s`, (f) => f.mixed[i]!.getsPerS, 0],
      [`mixed, ${slow} slow: get p50 (ms)`, (f) => f.mixed[i]!.getP50, 1],
      [`mixed, ${slow} slow: get p95 (ms)`, (f) => f.mixed[i]!.getP95, 1],
      [`mixed, ${slow} slow: pg_sleep(0.2)/s`, (f) => f.mixed[i]!.sleepsPerS, 1],
      [`mixed, ${slow} slow: pg_sleep(0.2) p50 (ms)`, (f) => f.mixed[i]!.sleepP50, 0],
    ]),
    ['get after a cancel, median (ms)', (f) => percentile(f.afterCancel, 50), 0],
  ];
  for (const cacheTtlMs of [0, 5000]) {
    const cols = engineCounts.map((e) => figures.get(`${e}/${cacheTtlMs}`)!);
    const [first, last] = [engineCounts[0]!, engineCounts[engineCounts.length - 1]!];
    report.push(`\n### engines compared, cache TTL ${cacheTtlMs} ms\n`);
    report.push(
      `| figure | ${engineCounts.map((e) => `${e} engine${e === 1 ? '' : 's'}`).join(' | ')} | ${last} / ${first} |`,
      `|---|${engineCounts.map(() => '---|').join('')}---|`,
    );
    for (const [name, get, digits] of rows) {
      const xs = cols.map(get);
      const ratio = xs[xs.length - 1]! / xs[0]!;
      report.push(`| ${name} | ${xs.map((x) => x.toFixed(digits)).join(' | ')} | ${ratio.toFixed(2)} |`);
    }
  }
}
sdk.destroy();
await emulator.close();
console.log(`## Benchmark (${new Date().toISOString()}, ${resources} resources, ${iterations} iterations)`);
console.log(report.join('\n'));
