/**
 * Measures the bridge end to end, through a real client over loopback, against the built-in emulator:
 * time to ready and RSS of the server process, latency of typical statements, and throughput with
 * concurrent clients. Every figure comes from one run, so compare them as ratios; the machine is shared.
 *
 *   npm run bench -- [--resources 200] [--iterations 200] [--clients 8]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudControlClient, CreateResourceCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { startEmulator } from '../emulator/index.js';

const { values } = parseArgs({
  options: {
    resources: { type: 'string', default: '200' },
    iterations: { type: 'string', default: '200' },
    clients: { type: 'string', default: '8' },
  },
});
const resources = Number(values.resources);
const iterations = Number(values.iterations);
const clients = Number(values.clients);
const region = 'us-east-1';
const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

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

async function startBridge(cacheTtlMs: number) {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      path.join(import.meta.dirname, '../server/main.js'),
      '--port',
      '0',
      '--endpoint',
      emulator.endpoint,
      '--region',
      region,
      '--cache-ttl-ms',
      String(cacheTtlMs),
      '--log-level',
      'error',
    ],
    {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`bridge exited: ${out}`)));
  });
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

const report: string[] = [];
for (const cacheTtlMs of [0, 5000]) {
  const bridge = await startBridge(cacheTtlMs);
  const client = new pg.Client({ host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' });
  await client.connect();
  client.on('notice', () => {});
  report.push(`\n### cache TTL ${cacheTtlMs} ms\n`);
  report.push(
    `time to ready: ${bridge.readyMs} ms; RSS after start: ${rssMb(bridge.child.pid!).toFixed(0)} MB\n`,
  );
  report.push('| statement | p50 ms | p95 ms |', '|---|---|---|');
  for (const [name, sql, params] of statements) {
    const n = name.includes('list + get') ? Math.max(5, Math.floor(iterations / 20)) : iterations;
    await timeQuery(client, sql, params, 3);
    const { p50, p95 } = await timeQuery(client, sql, params, n);
    report.push(`| ${name} | ${p50.toFixed(2)} | ${p95.toFixed(2)} |`);
  }
  const pool = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' });
      await c.connect();
      return c;
    }),
  );
  const t = Date.now();
  await Promise.all(
    pool.map(async (c, i) => {
      for (let k = 0; k < iterations / 4; k++)
        await c.query(
          'SELECT connector_type FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
          [region, `bench-${String((i * 7 + k) % resources).padStart(5, '0')}`],
        );
    }),
  );
  const total = clients * Math.floor(iterations / 4);
  report.push(
    `\n${clients} clients, ${total} gets by identifier: ${((total / (Date.now() - t)) * 1000).toFixed(0)} statements/s`,
  );
  report.push(`RSS after the run: ${rssMb(bridge.child.pid!).toFixed(0)} MB`);
  await Promise.all([client, ...pool].map((c) => c.end()));
  bridge.child.kill('SIGTERM');
  await new Promise((r) => bridge.child.once('exit', r));
}
sdk.destroy();
await emulator.close();
console.log(`## Benchmark (${new Date().toISOString()}, ${resources} resources, ${iterations} iterations)`);
console.log(report.join('\n'));
