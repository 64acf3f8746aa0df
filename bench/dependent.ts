/**
 * Keys from another table's rows (issue 10, "Cheap"): the join of a few flows to the connector profiles they name,
 * as the planner pins it (the flows first, then GetResource per distinct profile) and as the full plan (the same
 * join over an opaque subquery: list and read every profile). Counts the Cloud Control calls at the emulator and
 * times each statement through a real client; one run, so compare the two as ratios (the machine is shared).
 *
 *   npm run -s build && node dist/bench/dependent.js [--profiles 500] [--flows 5] [--iterations 10]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudControlClient, CreateResourceCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { startEmulator } from '../emulator/index.js';
import { exampleAwsEnv, exampleCredentials, listeningPort } from './support.js';

const { values } = parseArgs({
  options: {
    profiles: { type: 'string', default: '500' },
    flows: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '10' },
  },
});
const profiles = Number(values.profiles);
const flows = Number(values.flows);
const iterations = Number(values.iterations);
const region = 'us-east-1';
const credentials = exampleCredentials;

const emulator = await startEmulator({ port: 0, completionDelayMs: 5 });
const sdk = new CloudControlClient({ region, endpoint: emulator.endpoint, credentials });
const profileName = (i: number) => `profile-${String(i).padStart(5, '0')}`;
const create = (typeName: string, desired: object) =>
  sdk.send(new CreateResourceCommand({ TypeName: typeName, DesiredState: JSON.stringify(desired) }));
for (let i = 0; i < profiles; i += 100)
  await Promise.all(
    Array.from({ length: Math.min(100, profiles - i) }, (_, j) =>
      create('AWS::AppFlow::ConnectorProfile', {
        ConnectorProfileName: profileName(i + j),
        ConnectorType: 'Slack',
        ConnectionMode: 'Public',
      }),
    ),
  );
await Promise.all(
  Array.from({ length: flows }, (_, i) =>
    create('AWS::AppFlow::Flow', {
      FlowName: `flow-${i}`,
      TriggerConfig: { TriggerType: 'OnDemand' },
      SourceFlowConfig: {
        ConnectorType: 'Slack',
        ConnectorProfileName: profileName((i * 97) % profiles),
        SourceConnectorProperties: { Slack: { Object: 'conversations' } },
      },
      DestinationFlowConfigList: [
        { ConnectorType: 'S3', DestinationConnectorProperties: { S3: { BucketName: 'flows-out' } } },
      ],
      Tasks: [{ SourceFields: ['text'], TaskType: 'Filter', ConnectorOperator: { Slack: 'PROJECTION' } }],
    }),
  ),
);
await new Promise((r) => setTimeout(r, 500));

const child = spawn(
  process.execPath,
  [
    path.join(import.meta.dirname, '../server/main.js'),
    ...['--port', '0', '--endpoint', emulator.endpoint, '--region', region],
    ...['--cache-ttl-ms', '0', '--types', 'AWS::AppFlow::*', '--log-level', 'error'],
  ],
  {
    env: exampleAwsEnv,
    stdio: ['ignore', 'pipe', 'ignore'],
  },
);
try {
  const port = await listeningPort(child);
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'aws' });
  await client.connect();
  client.on('notice', () => {});

  const on = `p.region = f.region AND p.data__identifier = f.source_flow_config->>'ConnectorProfileName'`;
  const select = 'SELECT f.flow_name, p.connector_type, p.connector_profile_arn FROM appflow.flows f';
  const plans: [string, string][] = [
    ['keys from the flows (pinned)', `${select} JOIN appflow.connector_profile p ON ${on}`],
    [
      'full plan (opaque subquery)',
      `${select} JOIN (SELECT * FROM appflow.connector_profile OFFSET 0) p ON ${on}`,
    ],
  ];
  const calls = async (): Promise<Record<string, number>> =>
    (await (await fetch(`${emulator.endpoint}/__admin/calls`)).json()) as Record<string, number>;
  const results: { name: string; rows: number; gets: number; lists: number; p50: number }[] = [];
  for (const [name, sql] of plans) {
    await fetch(`${emulator.endpoint}/__admin/calls`, { method: 'DELETE' });
    const { rowCount } = await client.query(sql);
    const counted = await calls();
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t = process.hrtime.bigint();
      await client.query(sql);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    results.push({
      name,
      rows: rowCount ?? 0,
      gets: counted['GetResource AWS::AppFlow::ConnectorProfile'] ?? 0,
      lists: counted['ListResources AWS::AppFlow::ConnectorProfile'] ?? 0,
      p50: times[Math.floor(times.length / 2)]!,
    });
  }
  const analyzed = await client.query(`EXPLAIN ANALYZE ${plans[0]![1]}`);
  const analyze = analyzed.rows.map((r: Record<string, string>) => r['QUERY PLAN']!);
  await client.end();

  console.log(
    `## Keys from another table's rows (${new Date().toISOString()}, ${profiles} profiles, ${flows} flows, ${iterations} iterations)\n`,
  );
  console.log('| plan | rows | profile GetResource | profile ListResources pages | p50 ms |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of results)
    console.log(`| ${r.name} | ${r.rows} | ${r.gets} | ${r.lists} | ${r.p50.toFixed(1)} |`);
  console.log(`\nEXPLAIN ANALYZE of the pinned join, its Cloud Control lines:\n\n\`\`\``);
  console.log(analyze.slice(analyze.findIndex((l) => l.startsWith('Cloud Control'))).join('\n'));
  console.log('```');
  const [pinned, full] = results;
  console.log(
    `\nFull plan / pinned: ${(full!.p50 / pinned!.p50).toFixed(1)}x the time, ` +
      `${((full!.gets + full!.lists) / Math.max(1, pinned!.gets + pinned!.lists)).toFixed(0)}x the profile calls.`,
  );
} finally {
  child.kill('SIGTERM');
  await emulator.close();
}
