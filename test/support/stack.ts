import {
  CloudControlClient,
  CreateResourceCommand,
  GetResourceRequestStatusCommand,
} from '@aws-sdk/client-cloudcontrol';
import { fakeAwsEnv, startBridge, startEmulator, type Started } from './processes.js';

export const TYPE_NAME = 'AWS::AppFlow::ConnectorProfile';

/** A profile the tests create and then expect to read back. */
export interface Profile {
  ConnectorProfileName: string;
  ConnectorType: string;
  ConnectionMode: 'Public' | 'Private';
  ConnectorLabel?: string;
  KMSArn?: string;
}

export interface Stack {
  emulator: Started & { endpoint: string };
  bridge: Started & { port: number };
  /** Connection settings for pg.Client and psql. */
  pg: { host: string; port: number; user: string; database: string; password?: string };
  sdk(region: string): CloudControlClient;
  stop(): Promise<void>;
}

/** The emulator and the bridge as separate processes, the bridge reading `regions` by default. */
export async function startStack(options: {
  regions: string[];
  bridgeArgs?: string[];
  emulatorArgs?: string[];
}): Promise<Stack> {
  const emulator = await startEmulator(['--completion-delay-ms', '20', ...(options.emulatorArgs ?? [])]);
  let bridge: Started & { port: number };
  try {
    bridge = await startBridge([
      '--endpoint',
      emulator.endpoint,
      '--region',
      options.regions.join(','),
      '--cache-ttl-ms',
      '0',
      ...(options.bridgeArgs ?? []),
    ]);
  } catch (err) {
    await emulator.stop();
    throw err;
  }
  const clients = new Map<string, CloudControlClient>();
  return {
    emulator,
    bridge,
    pg: { host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' },
    sdk(region) {
      let c = clients.get(region);
      if (!c) {
        c = new CloudControlClient({
          region,
          endpoint: emulator.endpoint,
          credentials: {
            accessKeyId: fakeAwsEnv.AWS_ACCESS_KEY_ID,
            secretAccessKey: fakeAwsEnv.AWS_SECRET_ACCESS_KEY,
          },
        });
        clients.set(region, c);
      }
      return c;
    },
    async stop() {
      for (const c of clients.values()) c.destroy();
      await bridge.stop();
      await emulator.stop();
    },
  };
}

/** Creates the profiles through Cloud Control and waits until each request succeeded. */
export async function createProfiles(client: CloudControlClient, profiles: Profile[]): Promise<void> {
  await Promise.all(
    profiles.map(async (p) => {
      const { ProgressEvent } = await client.send(
        new CreateResourceCommand({ TypeName: TYPE_NAME, DesiredState: JSON.stringify(p) }),
      );
      for (;;) {
        const status = await client.send(
          new GetResourceRequestStatusCommand({ RequestToken: ProgressEvent!.RequestToken! }),
        );
        const s = status.ProgressEvent!.OperationStatus;
        if (s === 'SUCCESS') return;
        if (s === 'FAILED' || s === 'CANCEL_COMPLETE')
          throw new Error(`create ${p.ConnectorProfileName}: ${s} ${status.ProgressEvent!.StatusMessage}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }),
  );
}
