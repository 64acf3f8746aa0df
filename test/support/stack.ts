import {
  CloudControlClient,
  CreateResourceCommand,
  GetResourceCommand,
  GetResourceRequestStatusCommand,
  ListResourceRequestsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudcontrol';
import net from 'node:net';
import pg from 'pg';
import {
  emulatorCalls,
  fakeAwsEnv,
  resetEmulatorCalls,
  startBridge,
  startEmulator,
  type Started,
} from './processes.js';

export const TYPE_NAME = 'AWS::AppFlow::ConnectorProfile';
/**
 * Bridge flags serving only the connector profile tables: for suites about a client's protocol and catalog
 * queries, whose expectations list tables (registry.test.ts covers the catalog of every type).
 */
export const ONLY_CONNECTOR_PROFILES = ['--types', TYPE_NAME];

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
  /** What AWS now says about a resource (the read model: no write-only properties); undefined when gone. */
  awsModel(region: string, identifier: string): Promise<Record<string, unknown> | undefined>;
  /** The same for a resource of any type. */
  awsModelOf(
    typeName: string,
    region: string,
    identifier: string,
  ): Promise<Record<string, unknown> | undefined>;
  /** The emulator's stored model, write-only properties included (its admin view). */
  storedModel(region: string, identifier: string): Promise<Record<string, unknown> | undefined>;
  /** How many resource requests Cloud Control has seen in a region (up to 100). */
  requestCount(region: string): Promise<number>;
  /** Another bridge on the same emulator and default regions, with extra flags (e.g. --read-only). */
  startBridge(args: string[]): Promise<Started & { port: number }>;
  /**
   * Cloud Control requests the emulator has served since the last reset, by `Operation` and by
   * `Operation TypeName`; `resetCalls` starts the count again.
   */
  calls(): Promise<Record<string, number>>;
  resetCalls(): Promise<void>;
  /** Changes the emulator's faults at run time (its admin endpoint). */
  setFaults(faults: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** The emulator and the bridge as separate processes, the bridge reading `regions` by default. */
export async function startStack(options: {
  regions: string[];
  bridgeArgs?: string[];
  emulatorArgs?: string[];
}): Promise<Stack> {
  const emulator = await startEmulator(['--completion-delay-ms', '20', ...(options.emulatorArgs ?? [])]);
  const bridgeOn = (args: string[]) =>
    startBridge([
      '--endpoint',
      emulator.endpoint,
      '--region',
      options.regions.join(','),
      '--cache-ttl-ms',
      '0',
      ...args,
    ]);
  let bridge: Started & { port: number };
  try {
    bridge = await bridgeOn(options.bridgeArgs ?? []);
  } catch (err) {
    await emulator.stop();
    throw err;
  }
  const clients = new Map<string, CloudControlClient>();
  const stack: Stack = {
    emulator,
    bridge,
    pg: { host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' },
    awsModel: (region, identifier) => stack.awsModelOf(TYPE_NAME, region, identifier),
    awsModelOf: (typeName, region, identifier) => readModel(stack.sdk(region), typeName, identifier),
    async storedModel(region, identifier) {
      const all = (await (await fetch(`${emulator.endpoint}/__admin/resources`)).json()) as Record<
        string,
        Record<string, Record<string, Record<string, unknown>>>
      >;
      return all[region]?.[TYPE_NAME]?.[identifier];
    },
    async requestCount(region) {
      const r = await stack.sdk(region).send(new ListResourceRequestsCommand({ MaxResults: 100 }));
      return r.ResourceRequestStatusSummaries?.length ?? 0;
    },
    startBridge: bridgeOn,
    async calls() {
      return emulatorCalls(emulator.endpoint);
    },
    async resetCalls() {
      await resetEmulatorCalls(emulator.endpoint);
    },
    async setFaults(faults) {
      const r = await fetch(`${emulator.endpoint}/__admin/faults`, {
        method: 'POST',
        body: JSON.stringify(faults),
      });
      if (r.status !== 200) throw new Error(`the emulator refused the faults: ${await r.text()}`);
    },
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
  return stack;
}

/** Creates the profiles through Cloud Control and waits until each request succeeded. */
export function createProfiles(client: CloudControlClient, profiles: Profile[]): Promise<void> {
  return createResources(client, TYPE_NAME, profiles);
}

/** Creates resources of a type through Cloud Control and waits until each request succeeded. */
export async function createResources(
  client: CloudControlClient,
  typeName: string,
  models: object[],
): Promise<void> {
  await Promise.all(
    models.map(async (model) => {
      const { ProgressEvent } = await client.send(
        new CreateResourceCommand({ TypeName: typeName, DesiredState: JSON.stringify(model) }),
      );
      for (;;) {
        const status = await client.send(
          new GetResourceRequestStatusCommand({ RequestToken: ProgressEvent!.RequestToken! }),
        );
        const s = status.ProgressEvent!.OperationStatus;
        if (s === 'SUCCESS') return;
        if (s === 'FAILED' || s === 'CANCEL_COMPLETE')
          throw new Error(
            `create ${typeName} ${JSON.stringify(model)}: ${s} ${status.ProgressEvent!.StatusMessage}`,
          );
        await new Promise((r) => setTimeout(r, 10));
      }
    }),
  );
}

/** What Cloud Control now says about a resource (the read model: no write-only properties); undefined when gone. */
export async function readModel(
  client: CloudControlClient,
  typeName: string,
  identifier: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await client.send(new GetResourceCommand({ TypeName: typeName, Identifier: identifier }));
    return JSON.parse(r.ResourceDescription!.Properties!) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/** One statement on a connection of its own. */
export async function queryOnce(
  stack: Pick<Stack, 'pg'>,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult> {
  const c = new pg.Client(stack.pg);
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** A CancelRequest for a node-postgres client's session, on a connection of its own, as libpq sends it. */
export function sendCancel(stack: Pick<Stack, 'pg'>, client: pg.Client): void {
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  const cancel = Buffer.alloc(16);
  cancel.writeInt32BE(16, 0);
  cancel.writeInt32BE(80877102, 4);
  cancel.writeInt32BE(processID, 8);
  cancel.writeInt32BE(secretKey, 12);
  const socket = net.connect(stack.pg.port, '127.0.0.1', () => socket.end(cancel));
}
