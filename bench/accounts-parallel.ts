/**
 * Issue 11: cloud_control.resources and cloud_control.resource_requests read every configured account in
 * parallel. Against the emulator with a fixed latency per Cloud Control call, a read of three accounts beside a
 * read pinned to one (`WHERE account_name = ...`), alternated in one run: a ratio near 1 is parallel, near 3 would
 * be one account after the other.
 *
 *   npm run -s build && node dist/bench/accounts-parallel.js [--iterations 10] [--latency-ms 150]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudControlClient, CreateResourceCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { awaitRequest } from '../emulator/client.js';
import { startEmulator } from '../emulator/index.js';
import { exampleAwsEnv, listeningPort } from './support.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '10' },
    'latency-ms': { type: 'string', default: '150' },
  },
});
const iterations = Number(values.iterations);
const latencyMs = Number(values['latency-ms']);
const typeName = 'AWS::AppFlow::ConnectorProfile';
const accounts = [
  { name: 'a', key: 'AKIABENCHACCOUNTA001', id: '111111111111' },
  { name: 'b', key: 'AKIABENCHACCOUNTB001', id: '222222222222' },
  { name: 'c', key: 'AKIABENCHACCOUNTC001', id: '333333333333' },
];

const emulator = await startEmulator({
  completionDelayMs: 5,
  accessKeys: Object.fromEntries(accounts.map((a) => [a.key, a.id])),
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-accounts-'));
fs.writeFileSync(
  path.join(dir, 'credentials'),
  accounts.map((a) => `[${a.name}]\naws_access_key_id = ${a.key}\naws_secret_access_key = x\n`).join(''),
);
fs.writeFileSync(
  path.join(dir, 'bridge.yaml'),
  [
    'regions: [us-east-1]',
    'accounts:',
    ...accounts.flatMap((a) => [`  ${a.name}:`, `    profile: ${a.name}`, `    account_id: '${a.id}'`]),
  ].join('\n'),
);
for (const a of accounts) {
  const sdk = new CloudControlClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: a.key, secretAccessKey: 'x' },
  });
  for (let i = 0; i < 5; i++) {
    const desired = {
      ConnectorProfileName: `${a.name}-${i}`,
      ConnectorType: 'Slack',
      ConnectionMode: 'Public',
    };
    const out = await sdk.send(
      new CreateResourceCommand({ TypeName: typeName, DesiredState: JSON.stringify(desired) }),
    );
    await awaitRequest(sdk, out.ProgressEvent!.RequestToken!);
  }
  sdk.destroy();
}
emulator.setFaults({ latencyMs: { ListResources: latencyMs, ListResourceRequests: latencyMs } });

const child = spawn(
  process.execPath,
  [
    path.join(import.meta.dirname, '../server/main.js'),
    ...['--port', '0', '--config', path.join(dir, 'bridge.yaml'), '--endpoint', emulator.endpoint],
    ...['--cache-ttl-ms', '0', '--types', typeName, '--log-level', 'warn'],
  ],
  {
    env: {
      ...exampleAwsEnv,
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
      AWS_CONFIG_FILE: '/dev/null',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
try {
  const port = await listeningPort(child);
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'aws' });
  await client.connect();
  const queries = {
    'resources, one account': `SELECT identifier FROM cloud_control.resources WHERE type_name = '${typeName}' AND account_name = 'a'`,
    'resources, three accounts': `SELECT identifier FROM cloud_control.resources WHERE type_name = '${typeName}'`,
    'resource_requests, one account': `SELECT request_token FROM cloud_control.resource_requests WHERE account_name = 'a'`,
    'resource_requests, three accounts': `SELECT request_token FROM cloud_control.resource_requests`,
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(queries).map((k) => [k, []]));
  for (const sql of Object.values(queries)) await client.query(sql); // warm: the SDK clients, the plans
  const load = os.loadavg()[0]!.toFixed(1);
  for (let i = 0; i < iterations; i++)
    for (const [name, sql] of Object.entries(queries)) {
      const started = performance.now();
      const { rowCount } = await client.query(sql);
      times[name]!.push(performance.now() - started);
      if (rowCount !== (name.includes('three') ? 15 : 5)) throw new Error(`${name}: ${rowCount} rows`);
    }
  await client.end();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `${iterations} rounds, ${latencyMs} ms per list call, load average ${load} -> ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log('| read | median ms (one account) | median ms (three) | ratio |\n|---|---|---|---|');
  for (const table of ['resources', 'resource_requests']) {
    const one = median(times[`${table}, one account`]!);
    const three = median(times[`${table}, three accounts`]!);
    console.log(
      `| cloud_control.${table} | ${one.toFixed(0)} | ${three.toFixed(0)} | ${(three / one).toFixed(2)} |`,
    );
  }
} finally {
  child.kill();
  await emulator.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
