import {
  CloudControlClient,
  CreateResourceCommand,
  DeleteResourceCommand,
  GetResourceCommand,
  GetResourceRequestStatusCommand,
  ListResourcesCommand,
} from '@aws-sdk/client-cloudcontrol';
import { awaitRequest, emulatorClient } from '../emulator/client.js';
import { sampleConnectorProfiles, startEmulator, type RunningEmulator } from '../emulator/index.js';
import { startEmulator as startEmulatorProcess } from './support/processes.js';

const TypeName = 'AWS::AppFlow::ConnectorProfile';
const desired = (name: string) =>
  JSON.stringify({ ConnectorProfileName: name, ConnectorType: 'Slack', ConnectionMode: 'Public' });

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (e) {
    const error = e as Error & { $metadata: { httpStatusCode?: number }; $fault: string };
    return {
      name: error.name,
      message: error.message,
      status: error.$metadata.httpStatusCode,
      fault: error.$fault,
    };
  }
  throw new Error('expected the call to fail');
}

async function admin(endpoint: string, path: string, body?: unknown) {
  const response = await fetch(`${endpoint}/__admin/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Admin answers are loosely shaped JSON; each test states the part it checks.
  return { status: response.status, body: (await response.json()) as Record<string, never> };
}

describe('fault injection through the admin endpoint', () => {
  let emulator: RunningEmulator;
  let client: CloudControlClient;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, completionDelayMs: 10, logLevel: 'silent' });
    client = emulatorClient(emulator.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await emulator.close();
  });
  beforeEach(async () => {
    expect((await admin(emulator.endpoint, 'reset', {})).status).toBe(200);
  });

  test('added latency per operation', async () => {
    // Long enough that a loaded machine's delays (tens of ms) cannot pass for it.
    await admin(emulator.endpoint, 'faults', { latencyMs: { ListResources: 1000 } });
    let started = Date.now();
    await client.send(new ListResourcesCommand({ TypeName }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    // Other operations are not delayed.
    started = Date.now();
    await rejection(client.send(new GetResourceCommand({ TypeName, Identifier: 'x' })));
    expect(Date.now() - started).toBeLessThan(500);
  });

  test('throttling above a request rate: ThrottlingException "Rate exceeded"', async () => {
    await admin(emulator.endpoint, 'faults', { throttleRps: 3 });
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.send(new ListResourcesCommand({ TypeName })).then(
          () => 'ok',
          (e: Error) => e,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(3);
    const throttled = outcomes.find((o) => o !== 'ok') as Error & { $metadata: { httpStatusCode: number } };
    expect(throttled.name).toBe('ThrottlingException');
    expect(throttled.message).toBe('Rate exceeded');
    expect(throttled.$metadata.httpStatusCode).toBe(429);

    const raw = await fetch(`${emulator.endpoint}/`, {
      method: 'POST',
      headers: {
        'X-Amz-Target': 'CloudApiService.ListResources',
        Authorization:
          'AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/cloudcontrolapi/aws4_request, Signature=0',
      },
      body: JSON.stringify({ TypeName }),
    });
    expect(await raw.json()).toEqual({
      __type: 'com.amazon.coral.availability#ThrottlingException',
      Message: 'Rate exceeded',
    });
  });

  test('a rate of ServiceInternalErrorException (502)', async () => {
    await admin(emulator.endpoint, 'faults', { internalErrorRate: 1 });
    expect(await rejection(client.send(new ListResourcesCommand({ TypeName })))).toMatchObject({
      name: 'ServiceInternalErrorException',
      status: 502,
      fault: 'server',
    });
    await admin(emulator.endpoint, 'faults', { internalErrorRate: 0 });
    await client.send(new ListResourcesCommand({ TypeName }));
  });

  test('chosen identifiers fail asynchronously with the chosen ErrorCode and StatusMessage', async () => {
    await admin(emulator.endpoint, 'faults', {
      failIdentifiers: { doomed: { errorCode: 'NotStabilized', statusMessage: 'did not stabilize' } },
    });
    const { ProgressEvent } = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: desired('doomed') }),
    );
    expect(ProgressEvent!.OperationStatus).toBe('IN_PROGRESS');
    expect(await awaitRequest(client, ProgressEvent!.RequestToken!)).toMatchObject({
      OperationStatus: 'FAILED',
      ErrorCode: 'NotStabilized',
      StatusMessage: 'did not stabilize',
    });
    const notCreated = await rejection(
      client.send(new GetResourceCommand({ TypeName, Identifier: 'doomed' })),
    );
    expect(notCreated.name).toBe('ResourceNotFoundException');
  });

  test('denied operations: AccessDeniedException naming the handler permission', async () => {
    await admin(emulator.endpoint, 'faults', {
      denyOperations: ['CreateResource', 'GetResourceRequestStatus'],
    });
    expect(
      await rejection(client.send(new CreateResourceCommand({ TypeName, DesiredState: desired('d') }))),
    ).toEqual({
      name: 'AccessDeniedException',
      message:
        'User: arn:aws:iam::123456789012:user/emulator is not authorized to perform: appflow:CreateConnectorProfile' +
        ' because no identity-based policy allows the appflow:CreateConnectorProfile action',
      status: 400,
      fault: 'client',
    });
    const status = await rejection(client.send(new GetResourceRequestStatusCommand({ RequestToken: 'abc' })));
    expect(status.message).toContain('not authorized to perform: cloudformation:GetResourceRequestStatus');
    await client.send(new ListResourcesCommand({ TypeName }));
  });

  test('the completion delay changes at run time', async () => {
    await admin(emulator.endpoint, 'faults', { completionDelayMs: 400 });
    const { ProgressEvent } = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: desired('slow') }),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    const status = await client.send(
      new GetResourceRequestStatusCommand({ RequestToken: ProgressEvent!.RequestToken }),
    );
    expect(status.ProgressEvent!.OperationStatus).toBe('IN_PROGRESS');
    expect((await awaitRequest(client, ProgressEvent!.RequestToken!)).OperationStatus).toBe('SUCCESS');
  });

  test('admin: bad fault settings are refused; reset forgets resources and restores the startup faults', async () => {
    const bad = await admin(emulator.endpoint, 'faults', { internalErrorRate: 2 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/internalErrorRate/);
    expect((await admin(emulator.endpoint, 'faults', { nonsense: 1 })).status).toBe(400);

    const { ProgressEvent } = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: desired('keep') }),
    );
    await awaitRequest(client, ProgressEvent!.RequestToken!);
    await admin(emulator.endpoint, 'faults', { throttleRps: 100 });
    expect(Object.keys((await admin(emulator.endpoint, 'resources')).body['us-east-1'][TypeName])).toEqual([
      'keep',
    ]);

    await admin(emulator.endpoint, 'reset', {});
    expect((await admin(emulator.endpoint, 'resources')).body).toEqual({});
    expect((await admin(emulator.endpoint, 'faults')).body).toMatchObject({
      throttleRps: 0,
      completionDelayMs: 10,
    });
  });
});

describe('sample data', () => {
  test('connector profiles of several types in two regions, with generated ARNs and hidden credentials', async () => {
    const emulator = await startEmulator({ port: 0, sampleData: true, logLevel: 'silent' });
    try {
      for (const region of ['us-east-1', 'eu-west-1']) {
        const client = emulatorClient(emulator.endpoint, region);
        const { ResourceDescriptions } = await client.send(new ListResourcesCommand({ TypeName }));
        const expected = sampleConnectorProfiles.filter((p) => p.region === region);
        expect(ResourceDescriptions).toHaveLength(expected.length);
        for (const d of ResourceDescriptions!) {
          // A list gives the identifier only, as live Cloud Control does for this type: the model is GetResource's.
          expect(JSON.parse(d.Properties!)).toEqual({ ConnectorProfileName: d.Identifier });
          const got = await client.send(new GetResourceCommand({ TypeName, Identifier: d.Identifier! }));
          const properties = JSON.parse(got.ResourceDescription!.Properties!);
          expect(properties.ConnectorProfileArn).toBe(
            `arn:aws:appflow:${region}:123456789012:connectorprofile/${d.Identifier}`,
          );
          expect(properties.CredentialsArn).toMatch(new RegExp(`^arn:aws:secretsmanager:${region}:`));
          expect(properties).not.toHaveProperty('ConnectorProfileConfig');
          expect(properties).not.toHaveProperty('KMSArn');
        }
        client.destroy();
      }
      const types = new Set(sampleConnectorProfiles.map((p) => p.desiredState.ConnectorType));
      expect(types).toEqual(
        new Set(['Salesforce', 'Snowflake', 'Redshift', 'Slack', 'Datadog', 'CustomConnector']),
      );
      const client = emulatorClient(emulator.endpoint);
      const custom = await client.send(new GetResourceCommand({ TypeName, Identifier: 'inventory-api' }));
      client.destroy();
      expect(JSON.parse(custom.ResourceDescription!.Properties!).ConnectorLabel).toBe('InventoryConnector');
    } finally {
      await emulator.close();
    }
  });
});

describe('CLI (dist/emulator/main.js; run `npx tsc` first)', () => {
  test('prints one ready line and applies its flags', async () => {
    const emulator = await startEmulatorProcess([
      '--sample-data',
      '--completion-delay-ms',
      '20',
      '--latency-ms',
      'GetResource=5',
      '--deny-operation',
      'DeleteResource',
      '--fail-identifier',
      'doomed=ServiceLimitExceeded:too many profiles',
      '--log-level',
      'silent',
    ]);
    const client = emulatorClient(emulator.endpoint, 'eu-west-1');
    try {
      expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const { ResourceDescriptions } = await client.send(new ListResourcesCommand({ TypeName }));
      expect(ResourceDescriptions!.map((d) => d.Identifier)).toEqual([
        'datadog-monitoring',
        'salesforce-eu',
        'snowflake-eu',
      ]);
      const denied = await rejection(
        client.send(new DeleteResourceCommand({ TypeName, Identifier: 'salesforce-eu' })),
      );
      expect(denied.message).toContain('appflow:DeleteConnectorProfile');
      const { ProgressEvent } = await client.send(
        new CreateResourceCommand({ TypeName, DesiredState: desired('doomed') }),
      );
      expect(await awaitRequest(client, ProgressEvent!.RequestToken!)).toMatchObject({
        ErrorCode: 'ServiceLimitExceeded',
        StatusMessage: 'too many profiles',
      });
      const faults = (await admin(emulator.endpoint, 'faults')).body;
      expect(faults).toMatchObject({
        completionDelayMs: 20,
        latencyMs: { GetResource: 5 },
        denyOperations: ['DeleteResource'],
      });
      expect(emulator.output().match(/Cloud Control emulator listening on/g)).toHaveLength(1);
    } finally {
      client.destroy();
      await emulator.stop();
    }
  });
});
