import { ListResourceRequestsCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { emulatorClient } from '../emulator/client.js';
import { jsonLogLines, startBridge, startEmulator, type Started } from './support/processes.js';

const region = 'us-east-1';

/** Resolves with the exit code once the process has exited. */
function exited(p: Started): Promise<number | null> {
  if (p.child.exitCode !== null) return Promise.resolve(p.child.exitCode);
  return new Promise((resolve) => p.child.once('exit', (code) => resolve(code)));
}

/** A client whose NOTICEs and connection error (the FATAL of a shutdown) are kept. */
async function client(port: number) {
  const c = new pg.Client({ host: '127.0.0.1', port, database: 'aws', user: 'postgres' });
  const notices: string[] = [];
  let fatal: (Error & { code?: string; severity?: string }) | undefined;
  c.on('notice', (n) => notices.push(n.message ?? ''));
  const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));
  c.on('error', (err) => (fatal ??= err));
  await c.connect();
  return { c, notices, fatal: () => fatal, ended };
}

/** Until the emulator has a request of the statement in progress: its RequestToken (the write is in flight). */
async function inFlightToken(endpoint: string): Promise<string> {
  const sdk = emulatorClient(endpoint, region);
  try {
    for (;;) {
      const { ResourceRequestStatusSummaries: found = [] } = await sdk.send(
        new ListResourceRequestsCommand({
          ResourceRequestStatusFilter: { OperationStatuses: ['IN_PROGRESS'] },
        }),
      );
      const token = found.find((r) => r.Operation === 'CREATE')?.RequestToken;
      if (token) return token;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    sdk.destroy();
  }
}

const insert = (name: string) =>
  `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode)
   VALUES ('${region}', '${name}', 'Zendesk', 'Public')`;

test('SIGTERM past the deadline: the write in flight has its RequestToken logged, sessions get 57P01, exit 0', async () => {
  // The create stays IN_PROGRESS far longer than the one-second deadline.
  const emulator = await startEmulator(['--completion-delay-ms', '600000']);
  let bridge: (Started & { port: number }) | undefined;
  try {
    bridge = await startBridge([
      '--endpoint',
      emulator.endpoint,
      '--region',
      region,
      '--shutdown-timeout',
      '1',
      '--log-format',
      'json',
    ]);
    const writer = await client(bridge.port);
    const idle = await client(bridge.port);
    const write = writer.c.query(insert('slow-at-shutdown')).then(
      () => undefined,
      (err: Error & { code?: string; detail?: string }) => err,
    );
    const token = await inFlightToken(emulator.endpoint);
    const code = exited(bridge);
    bridge.child.kill('SIGTERM');
    expect(await code).toBe(0);
    const err = await write;
    // The statement was stopped: its error lists the request that Cloud Control may still be running.
    expect(err).toBeDefined();
    expect(`${err!.message}\n${err!.detail ?? ''}`).toContain(token);
    await writer.ended;
    await idle.ended;
    expect(idle.fatal()).toMatchObject({
      code: '57P01',
      message: 'terminating connection due to administrator command',
    });
    expect(jsonLogLines(bridge.output())).toContainEqual(
      expect.objectContaining({
        requestToken: token,
        operation: 'CreateResource',
        typeName: 'AWS::AppFlow::ConnectorProfile',
        region,
        msg: expect.stringContaining('write still in flight at shutdown'),
      }),
    );
  } finally {
    await bridge?.stop();
    await emulator.stop();
  }
});

test('SIGTERM within the deadline: the running write completes, then its session ends with 57P01; exit 0', async () => {
  const emulator = await startEmulator(['--completion-delay-ms', '1500']);
  let bridge: (Started & { port: number }) | undefined;
  try {
    bridge = await startBridge(['--endpoint', emulator.endpoint, '--region', region, '--log-format', 'json']);
    const writer = await client(bridge.port);
    const write = writer.c.query(insert('done-at-shutdown'));
    write.catch(() => {});
    const token = await inFlightToken(emulator.endpoint);
    const code = exited(bridge);
    bridge.child.kill('SIGTERM');
    const r = await write;
    expect(r.command).toBe('INSERT');
    expect(r.rowCount).toBe(1);
    await writer.ended;
    expect(writer.fatal()).toMatchObject({ code: '57P01' });
    expect(await code).toBe(0);
    expect(bridge.output()).not.toContain('write still in flight');
    expect(bridge.output()).not.toContain(`"requestToken":"${token}"`);
  } finally {
    await bridge?.stop();
    await emulator.stop();
  }
});
