import {
  CloudControlClient,
  CreateResourceCommand,
  GetResourceCommand,
  ListResourcesCommand,
  UpdateResourceCommand,
} from '@aws-sdk/client-cloudcontrol';
import { awaitRequest, emulatorClient } from '../emulator/client.js';
import { startEmulator, type RunningEmulator } from '../emulator/index.js';

const TypeName = 'AWS::AppFlow::ConnectorProfile';
const base = { ConnectorProfileName: 'v-1', ConnectorType: 'Slack', ConnectionMode: 'Public' };

let emulator: RunningEmulator;
let client: CloudControlClient;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, completionDelayMs: 10, logLevel: 'silent' });
  client = emulatorClient(emulator.endpoint);
  const { ProgressEvent } = await client.send(
    new CreateResourceCommand({ TypeName, DesiredState: JSON.stringify(base) }),
  );
  await awaitRequest(client, ProgressEvent!.RequestToken!);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});

async function rejection(call: Promise<unknown>) {
  try {
    await call;
  } catch (e) {
    const error = e as Error & { $metadata: { httpStatusCode?: number } };
    return { name: error.name, message: error.message, status: error.$metadata.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

const createWith = (model: unknown) =>
  rejection(
    client.send(
      new CreateResourceCommand({
        TypeName,
        DesiredState: typeof model === 'string' ? model : JSON.stringify(model),
      }),
    ),
  );

const patch = (ops: unknown[], Identifier = 'v-1') =>
  rejection(
    client.send(new UpdateResourceCommand({ TypeName, Identifier, PatchDocument: JSON.stringify(ops) })),
  );

const validation = (message: string) => ({ name: 'ValidationException', message, status: 400 });

describe('DesiredState is validated against the registry schema, worded as the live service words it', () => {
  test.each([
    [{ ...base, Foo: 1 }, '#: extraneous key [Foo] is not permitted'],
    [{ ConnectorProfileName: 'x', ConnectionMode: 'Public' }, '#: required key [ConnectorType] not found'],
    [{ ...base, ConnectionMode: 'Foo' }, '#/ConnectionMode: Foo is not a valid enum value'],
    [
      { ...base, ConnectorProfileName: 'n'.repeat(300) },
      '#/ConnectorProfileName: expected maxLength: 256, actual: 300',
    ],
    [
      { ...base, KMSArn: 'not-an-arn-but-long-enough' },
      '#/KMSArn: string [not-an-arn-but-long-enough] does not match pattern arn:aws:kms:.*:[0-9]+:.*',
    ],
    [
      {
        ...base,
        ConnectorType: 'Snowflake',
        ConnectorProfileConfig: { ConnectorProfileCredentials: { Snowflake: { Username: 'u' } } },
      },
      '#/ConnectorProfileConfig/ConnectorProfileCredentials/Snowflake: required key [Password] not found',
    ],
  ])('%j -> %s', async (model, detail) => {
    expect(await createWith(model)).toEqual(validation(`Model validation failed (${detail})`));
  });

  test('several violations are all reported, one per line', async () => {
    const error = await createWith({ ConnectorProfileName: 'x', ConnectionMode: 'Foo', Bar: true });
    expect(error.message).toBe(
      'Model validation failed (#: required key [ConnectorType] not found\n' +
        '#: extraneous key [Bar] is not permitted\n#/ConnectionMode: Foo is not a valid enum value)',
    );
  });

  test('read-only properties are the service’s to set: DesiredState may not hold them', async () => {
    const arn = 'arn:aws:appflow:us-east-1:123456789012:connectorprofile/x';
    expect(await createWith({ ...base, ConnectorProfileArn: arn })).toEqual(
      validation('Model validation failed (#: extraneous key [ConnectorProfileArn] is not permitted)'),
    );
  });

  test('DesiredState that is not a JSON object is rejected', async () => {
    expect((await createWith('{not json')).name).toBe('ValidationException');
    expect((await createWith('[1]')).name).toBe('ValidationException');
  });
});

describe('PatchDocument', () => {
  test('a create-only property: NotUpdatableException, synchronously', async () => {
    expect(await patch([{ op: 'replace', path: '/ConnectorType', value: 'Datadog' }])).toEqual({
      name: 'NotUpdatableException',
      message: 'Invalid patch update: createOnlyProperties [/properties/ConnectorType] cannot be updated',
      status: 400,
    });
  });

  test('a read-only property: ValidationException, synchronously', async () => {
    expect(await patch([{ op: 'remove', path: '/CredentialsArn' }])).toEqual(
      validation('Invalid patch update: readOnlyProperties [/properties/CredentialsArn] cannot be updated'),
    );
  });

  test('a failed test op or an invalid op rejects the whole patch and applies nothing', async () => {
    const failedTest = await patch([
      { op: 'replace', path: '/ConnectionMode', value: 'Private' },
      { op: 'test', path: '/ConnectionMode', value: 'Public' },
    ]);
    expect(failedTest.name).toBe('ValidationException');
    const invalidOp = await patch([
      { op: 'replace', path: '/ConnectionMode', value: 'Private' },
      { op: 'frobnicate', path: '/ConnectionMode' },
    ]);
    expect(invalidOp.name).toBe('ValidationException');
    const notJson = await rejection(
      client.send(new UpdateResourceCommand({ TypeName, Identifier: 'v-1', PatchDocument: '{oops' })),
    );
    expect(notJson.name).toBe('ValidationException');
    const read = await client.send(new GetResourceCommand({ TypeName, Identifier: 'v-1' }));
    expect(JSON.parse(read.ResourceDescription!.Properties!).ConnectionMode).toBe('Public');
  });

  test('the patched model is validated against the schema', async () => {
    expect(await patch([{ op: 'replace', path: '/ConnectionMode', value: 'Sideways' }])).toEqual(
      validation('Model validation failed (#/ConnectionMode: Sideways is not a valid enum value)'),
    );
    expect(await patch([{ op: 'add', path: '/Extra', value: 1 }])).toEqual(
      validation('Model validation failed (#: extraneous key [Extra] is not permitted)'),
    );
  });
});

describe('request members are checked against the model’s constraints first', () => {
  test('TypeName and MaxResults out of their constraints', async () => {
    expect(await rejection(client.send(new ListResourcesCommand({ TypeName: 'AWS::X' })))).toEqual(
      validation(
        "2 validation errors detected: Value 'AWS::X' at 'typeName' failed to satisfy constraint: Member must have" +
          " length greater than or equal to 10; Value 'AWS::X' at 'typeName' failed to satisfy constraint: Member must" +
          ' satisfy regular expression pattern: ^[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}$',
      ),
    );
    expect(await rejection(client.send(new ListResourcesCommand({ TypeName, MaxResults: 500 })))).toEqual(
      validation(
        "1 validation error detected: Value '500' at 'maxResults' failed to satisfy constraint: Member must have value" +
          ' less than or equal to 100',
      ),
    );
  });

  test('a ClientToken outside its pattern', async () => {
    const error = await rejection(
      client.send(
        new CreateResourceCommand({
          TypeName,
          DesiredState: JSON.stringify(base),
          ClientToken: 'not valid!',
        }),
      ),
    );
    expect(error.name).toBe('ValidationException');
    expect(error.message).toContain("at 'clientToken' failed to satisfy constraint");
  });
});
