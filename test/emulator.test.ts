import {
  CancelResourceRequestCommand,
  CloudControlClient,
  CreateResourceCommand,
  DeleteResourceCommand,
  GetResourceCommand,
  GetResourceRequestStatusCommand,
  ListResourceRequestsCommand,
  ListResourcesCommand,
  UpdateResourceCommand,
} from '@aws-sdk/client-cloudcontrol';
import {
  ListAccountsCommand,
  OrganizationsClient,
  paginateListAccounts,
} from '@aws-sdk/client-organizations';
import { awaitRequest, emulatorClient, emulatorCredentials } from '../emulator/client.js';
import { startEmulator, type RunningEmulator } from '../emulator/index.js';

const TypeName = 'AWS::AppFlow::ConnectorProfile';

const profile = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    ConnectorProfileName: name,
    ConnectorType: 'Datadog',
    ConnectionMode: 'Public',
    ConnectorProfileConfig: {
      ConnectorProfileProperties: { Datadog: { InstanceUrl: 'https://api.datadoghq.com' } },
      ConnectorProfileCredentials: {
        Datadog: { ApiKey: 'secret-api-key', ApplicationKey: 'secret-app-key' },
      },
    },
    ...extra,
  });

/** Resolves with the error a command rejects with. */
async function failure(
  promise: Promise<unknown>,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (e) {
    return e as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

let emulator: RunningEmulator;
let client: CloudControlClient;

async function create(name: string, extra: Record<string, unknown> = {}, c = client) {
  const { ProgressEvent } = await c.send(
    new CreateResourceCommand({ TypeName, DesiredState: profile(name, extra) }),
  );
  return awaitRequest(c, ProgressEvent!.RequestToken!);
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, completionDelayMs: 30, logLevel: 'silent' });
  client = emulatorClient(emulator.endpoint);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
beforeEach(() => emulator.reset());

describe('resource lifecycle through the real SDK', () => {
  test('create answers IN_PROGRESS, completes, and the read model hides write-only properties', async () => {
    const { ProgressEvent: accepted, $metadata } = await client.send(
      new CreateResourceCommand({
        TypeName,
        DesiredState: profile('dd-1', { KMSArn: 'arn:aws:kms:us-east-1:123456789012:key/abc' }),
      }),
    );
    expect($metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(accepted).toMatchObject({
      TypeName,
      Identifier: 'dd-1',
      Operation: 'CREATE',
      OperationStatus: 'IN_PROGRESS',
    });
    expect(accepted!.RequestToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(accepted!.EventTime).toBeInstanceOf(Date);

    const done = await awaitRequest(client, accepted!.RequestToken!);
    expect(done.OperationStatus).toBe('SUCCESS');
    expect(JSON.parse(done.ResourceModel!)).not.toHaveProperty('ConnectorProfileConfig');

    const { ResourceDescription } = await client.send(
      new GetResourceCommand({ TypeName, Identifier: 'dd-1' }),
    );
    const properties = JSON.parse(ResourceDescription!.Properties!);
    expect(properties).toEqual({
      ConnectorProfileName: 'dd-1',
      ConnectorType: 'Datadog',
      ConnectionMode: 'Public',
      ConnectorProfileArn: 'arn:aws:appflow:us-east-1:123456789012:connectorprofile/dd-1',
      CredentialsArn: expect.stringMatching(
        /^arn:aws:secretsmanager:us-east-1:123456789012:secret:appflow!123456789012-dd-1-[0-9a-f]{6}$/,
      ),
    });
  });

  test('update applies all six patch ops; a write-only property set with add stays stored but hidden', async () => {
    await create('dd-2');
    const patch = [
      { op: 'test', path: '/ConnectionMode', value: 'Public' },
      { op: 'replace', path: '/ConnectionMode', value: 'Private' },
      { op: 'add', path: '/KMSArn', value: 'arn:aws:kms:us-east-1:123456789012:key/new' },
      { op: 'copy', from: '/ConnectionMode', path: '/ConnectionMode' },
      { op: 'move', from: '/ConnectionMode', path: '/ConnectionMode' },
      { op: 'remove', path: '/KMSArn' },
      { op: 'add', path: '/KMSArn', value: 'arn:aws:kms:us-east-1:123456789012:key/final' },
    ];
    const { ProgressEvent: accepted } = await client.send(
      new UpdateResourceCommand({ TypeName, Identifier: 'dd-2', PatchDocument: JSON.stringify(patch) }),
    );
    expect(accepted).toMatchObject({
      Operation: 'UPDATE',
      OperationStatus: 'IN_PROGRESS',
      Identifier: 'dd-2',
    });
    expect(JSON.parse(accepted!.ResourceModel!)).not.toHaveProperty('KMSArn');
    expect((await awaitRequest(client, accepted!.RequestToken!)).OperationStatus).toBe('SUCCESS');

    const read = await client.send(new GetResourceCommand({ TypeName, Identifier: 'dd-2' }));
    const properties = JSON.parse(read.ResourceDescription!.Properties!);
    expect(properties.ConnectionMode).toBe('Private');
    expect(properties).not.toHaveProperty('KMSArn');
    expect(properties).not.toHaveProperty('ConnectorProfileConfig');

    const stored = (await (await fetch(`${emulator.endpoint}/__admin/resources`)).json()) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    expect(stored['us-east-1']![TypeName]!['dd-2']).toMatchObject({
      KMSArn: 'arn:aws:kms:us-east-1:123456789012:key/final',
      ConnectorProfileConfig: { ConnectorProfileCredentials: { Datadog: { ApiKey: 'secret-api-key' } } },
    });
  });

  test('replace of a write-only property fails: the patch applies to the read model, which lacks it', async () => {
    await create('dd-wo', { KMSArn: 'arn:aws:kms:us-east-1:123456789012:key/abc' });
    const patch = [{ op: 'replace', path: '/KMSArn', value: 'arn:aws:kms:us-east-1:123456789012:key/def' }];
    const error = await failure(
      client.send(
        new UpdateResourceCommand({ TypeName, Identifier: 'dd-wo', PatchDocument: JSON.stringify(patch) }),
      ),
    );
    expect(error.name).toBe('ValidationException');
  });

  test('delete answers IN_PROGRESS and the resource is gone afterwards', async () => {
    await create('dd-3');
    const { ProgressEvent: accepted } = await client.send(
      new DeleteResourceCommand({ TypeName, Identifier: 'dd-3' }),
    );
    expect(accepted).toMatchObject({
      Operation: 'DELETE',
      OperationStatus: 'IN_PROGRESS',
      Identifier: 'dd-3',
    });
    expect((await awaitRequest(client, accepted!.RequestToken!)).OperationStatus).toBe('SUCCESS');
    const error = await failure(client.send(new GetResourceCommand({ TypeName, Identifier: 'dd-3' })));
    expect(error.name).toBe('ResourceNotFoundException');
  });

  test('GetResource, UpdateResource and DeleteResource of a missing identifier: ResourceNotFoundException, 400', async () => {
    for (const command of [
      new GetResourceCommand({ TypeName, Identifier: 'nope' }),
      new DeleteResourceCommand({ TypeName, Identifier: 'nope' }),
      new UpdateResourceCommand({ TypeName, Identifier: 'nope', PatchDocument: '[]' }),
    ]) {
      const error = await failure(client.send(command as never));
      expect(error.name).toBe('ResourceNotFoundException');
      expect(error.$metadata.httpStatusCode).toBe(400);
      expect(error.message).toMatch(
        new RegExp(
          `^AWS::AppFlow::ConnectorProfile Handler returned status FAILED: Resource of type 'AWS::AppFlow::ConnectorProfile'` +
            ` with identifier 'nope' was not found\\. \\(HandlerErrorCode: NotFound, RequestToken: [0-9a-f-]{36}\\)$`,
        ),
      );
    }
  });

  test('a duplicate create is accepted, then FAILS with AlreadyExists', async () => {
    await create('dup');
    const { ProgressEvent: accepted } = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: profile('dup') }),
    );
    expect(accepted!.OperationStatus).toBe('IN_PROGRESS');
    const done = await awaitRequest(client, accepted!.RequestToken!);
    expect(done).toMatchObject({
      OperationStatus: 'FAILED',
      ErrorCode: 'AlreadyExists',
      StatusMessage:
        "Resource of type 'AWS::AppFlow::ConnectorProfile' with identifier 'dup' already exists.",
    });
  });
});

describe('paging', () => {
  test('ListResources pages 60 resources at 25 whatever MaxResults says, with an opaque NextToken', async () => {
    for (let i = 0; i < 60; i++) {
      await client.send(
        new CreateResourceCommand({ TypeName, DesiredState: profile(`p-${String(i).padStart(2, '0')}`) }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pages: number[] = [];
    const seen: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await client.send(new ListResourcesCommand({ TypeName, MaxResults: 5, NextToken }));
      pages.push(page.ResourceDescriptions!.length);
      seen.push(...page.ResourceDescriptions!.map((d) => d.Identifier!));
      for (const d of page.ResourceDescriptions!)
        expect(JSON.parse(d.Properties!)).not.toHaveProperty('ConnectorProfileConfig');
      NextToken = page.NextToken;
      if (NextToken) expect(NextToken).toMatch(/^[A-Za-z0-9+/=]+$/);
    } while (NextToken);
    expect(pages).toEqual([25, 25, 10]);
    expect(new Set(seen).size).toBe(60);
  });

  test('a NextToken the emulator did not write is rejected', async () => {
    const error = await failure(client.send(new ListResourcesCommand({ TypeName, NextToken: 'garbage!' })));
    expect(error.name).toBe('InvalidRequestException');
    const error2 = await failure(client.send(new ListResourceRequestsCommand({ NextToken: 'Z2FyYmFnZQ==' })));
    expect(error2.name).toBe('ValidationException');
  });

  test('ListResourceRequests filters by operation and status and pages by MaxResults', async () => {
    await create('r-1');
    await create('r-2');
    const { ProgressEvent: del } = await client.send(
      new DeleteResourceCommand({ TypeName, Identifier: 'r-1' }),
    );
    await awaitRequest(client, del!.RequestToken!);
    emulator.setFaults({ completionDelayMs: 1000 });
    await client.send(new CreateResourceCommand({ TypeName, DesiredState: profile('r-1') }));

    const creates = await client.send(
      new ListResourceRequestsCommand({
        ResourceRequestStatusFilter: { Operations: ['CREATE'], OperationStatuses: ['SUCCESS'] },
      }),
    );
    expect(creates.ResourceRequestStatusSummaries!.map((e) => e.Identifier)).toEqual(['r-2', 'r-1']);

    const inProgress = await client.send(
      new ListResourceRequestsCommand({
        ResourceRequestStatusFilter: { OperationStatuses: ['IN_PROGRESS'] },
      }),
    );
    expect(inProgress.ResourceRequestStatusSummaries).toHaveLength(1);

    const first = await client.send(new ListResourceRequestsCommand({ MaxResults: 3 }));
    expect(first.ResourceRequestStatusSummaries).toHaveLength(3);
    expect(first.ResourceRequestStatusSummaries![0]!.Identifier).toBe('r-1');
    expect(first.ResourceRequestStatusSummaries![0]!.Operation).toBe('CREATE');
    const second = await client.send(
      new ListResourceRequestsCommand({ MaxResults: 3, NextToken: first.NextToken }),
    );
    expect(second.ResourceRequestStatusSummaries).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('requests', () => {
  test('an IN_PROGRESS create can be cancelled: CANCEL_COMPLETE, and nothing is created', async () => {
    emulator.setFaults({ completionDelayMs: 2000 });
    const { ProgressEvent: accepted } = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: profile('c-1') }),
    );
    const { ProgressEvent: cancelling } = await client.send(
      new CancelResourceRequestCommand({ RequestToken: accepted!.RequestToken }),
    );
    expect(cancelling).toMatchObject({
      RequestToken: accepted!.RequestToken,
      OperationStatus: 'CANCEL_IN_PROGRESS',
    });
    expect((await awaitRequest(client, accepted!.RequestToken!)).OperationStatus).toBe('CANCEL_COMPLETE');
    expect((await failure(client.send(new GetResourceCommand({ TypeName, Identifier: 'c-1' })))).name).toBe(
      'ResourceNotFoundException',
    );
    // A finished request cannot be cancelled.
    const again = await failure(
      client.send(new CancelResourceRequestCommand({ RequestToken: accepted!.RequestToken })),
    );
    expect(again.name).toBe('RequestTokenNotFoundException');
  });

  test('unknown request tokens: RequestTokenNotFoundException', async () => {
    for (const command of [
      new GetResourceRequestStatusCommand({ RequestToken: 'no-such-token' }),
      new CancelResourceRequestCommand({ RequestToken: 'no-such-token' }),
    ]) {
      const error = await failure(client.send(command as never));
      expect(error.name).toBe('RequestTokenNotFoundException');
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
  });

  test('one ClientToken: a retry gets the same request back, a different request is a conflict', async () => {
    const ClientToken = 'token-123';
    const first = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: profile('idem'), ClientToken }),
    );
    const retry = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: profile('idem'), ClientToken }),
    );
    expect(retry.ProgressEvent!.RequestToken).toBe(first.ProgressEvent!.RequestToken);
    await awaitRequest(client, first.ProgressEvent!.RequestToken!);
    const later = await client.send(
      new CreateResourceCommand({ TypeName, DesiredState: profile('idem'), ClientToken }),
    );
    expect(later.ProgressEvent).toMatchObject({
      RequestToken: first.ProgressEvent!.RequestToken,
      OperationStatus: 'SUCCESS',
    });

    const conflict = await failure(
      client.send(new CreateResourceCommand({ TypeName, DesiredState: profile('other'), ClientToken })),
    );
    expect(conflict.name).toBe('ClientTokenConflictException');
    expect(conflict.$metadata.httpStatusCode).toBe(409);
  });

  test('a second write while a request is in flight on the resource: ConcurrentOperationException naming it', async () => {
    await create('busy');
    emulator.setFaults({ completionDelayMs: 500 });
    const patch = JSON.stringify([{ op: 'replace', path: '/ConnectionMode', value: 'Private' }]);
    const { ProgressEvent: running } = await client.send(
      new UpdateResourceCommand({ TypeName, Identifier: 'busy', PatchDocument: patch }),
    );
    const error = await failure(client.send(new DeleteResourceCommand({ TypeName, Identifier: 'busy' })));
    expect(error.name).toBe('ConcurrentOperationException');
    expect(error.$metadata.httpStatusCode).toBe(409);
    expect(error.message).toContain(running!.RequestToken!);
    expect((await awaitRequest(client, running!.RequestToken!)).OperationStatus).toBe('SUCCESS');
    const { ProgressEvent: deleting } = await client.send(
      new DeleteResourceCommand({ TypeName, Identifier: 'busy' }),
    );
    expect(deleting!.OperationStatus).toBe('IN_PROGRESS');
  });
});

describe('protocol', () => {
  test('a request without a SigV4 Authorization header is refused with MissingAuthenticationTokenException', async () => {
    const response = await fetch(`${emulator.endpoint}/`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'CloudApiService.ListResources',
      },
      body: JSON.stringify({ TypeName }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
  });

  test('raw responses: epoch-second EventTime, JSON-string models, __type errors with Message', async () => {
    const headers = {
      'Content-Type': 'application/x-amz-json-1.0',
      Authorization:
        'AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/cloudcontrolapi/aws4_request, SignedHeaders=host, Signature=0',
    };
    const post = (op: string, body: unknown) =>
      fetch(`${emulator.endpoint}/`, {
        method: 'POST',
        headers: { ...headers, 'X-Amz-Target': `CloudApiService.${op}` },
        body: JSON.stringify(body),
      });
    const created = (await (
      await post('CreateResource', { TypeName, DesiredState: profile('raw') })
    ).json()) as { ProgressEvent: { EventTime: number } };
    expect(typeof created.ProgressEvent.EventTime).toBe('number');
    expect(created.ProgressEvent.EventTime).toBeCloseTo(Date.now() / 1000, 0);
    const missing = await post('GetResource', { TypeName, Identifier: 'nope' });
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as Record<string, string>;
    expect(body.__type).toBe('com.amazon.cloudapiservice#ResourceNotFoundException');
    expect(body.Message).toContain("with identifier 'nope' was not found");
    const unknown = await post('DescribeEverything', {});
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Record<string, string>).__type).toBe(
      'com.amazon.coral.service#UnknownOperationException',
    );
  });

  test('a type the catalog does not define: TypeNotFoundException', async () => {
    const error = await failure(client.send(new ListResourcesCommand({ TypeName: 'AWS::Nope::Thing' })));
    expect(error.name).toBe('TypeNotFoundException');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  test('regions are separate stores, chosen by the SigV4 credential scope', async () => {
    const eu = emulatorClient(emulator.endpoint, 'eu-west-1');
    try {
      await create('regional', {}, eu);
      const euList = await eu.send(new ListResourcesCommand({ TypeName }));
      expect(euList.ResourceDescriptions!.map((d) => d.Identifier)).toEqual(['regional']);
      const euGot = await eu.send(new GetResourceCommand({ TypeName, Identifier: 'regional' }));
      expect(JSON.parse(euGot.ResourceDescription!.Properties!).ConnectorProfileArn).toContain(':eu-west-1:');
      const usList = await client.send(new ListResourcesCommand({ TypeName }));
      expect(usList.ResourceDescriptions).toEqual([]);
      await create('regional');
      expect(
        (await client.send(new GetResourceCommand({ TypeName, Identifier: 'regional' }))).ResourceDescription,
      ).toBeDefined();
    } finally {
      eu.destroy();
    }
  });
});

describe('Organizations ListAccounts', () => {
  let org: RunningEmulator;
  const organizations = (endpoint: string, accessKeyId = 'AKIAMGMT') =>
    new OrganizationsClient({
      endpoint,
      region: 'us-east-1',
      credentials: { ...emulatorCredentials, accessKeyId },
      maxAttempts: 1,
    });
  beforeAll(async () => {
    org = await startEmulator({
      logLevel: 'silent',
      accessKeys: { AKIAMGMT: '999999999999' },
      orgManagement: '999999999999',
      orgAccounts: [
        { id: '444444444444', name: 'payments', state: 'ACTIVE' },
        { id: '666666666666', name: 'retired', state: 'SUSPENDED' },
      ],
    });
  });
  afterAll(() => org.close());

  test('lists the management account and the members, a page at a time, through the SDK paginator', async () => {
    const client = organizations(org.endpoint);
    try {
      const pages = [];
      for await (const page of paginateListAccounts({ client }, {})) pages.push(page.Accounts ?? []);
      expect(pages.map((p) => p.length)).toEqual([2, 1]);
      expect(pages.flat().map((a) => [a.Id, a.Name, a.State, a.Status])).toEqual([
        ['999999999999', 'management', 'ACTIVE', 'ACTIVE'],
        ['444444444444', 'payments', 'ACTIVE', 'ACTIVE'],
        ['666666666666', 'retired', 'SUSPENDED', 'SUSPENDED'],
      ]);
    } finally {
      client.destroy();
    }
  });

  test('another account is denied; an emulator without members has no organization', async () => {
    const outsider = organizations(org.endpoint, 'AKIAOTHER');
    const lone = organizations(emulator.endpoint);
    try {
      const denied = await failure(outsider.send(new ListAccountsCommand({})));
      expect(denied.name).toBe('AccessDeniedException');
      expect(denied.message).toContain('organizations:ListAccounts');
      expect((await failure(lone.send(new ListAccountsCommand({})))).name).toBe(
        'AWSOrganizationsNotInUseException',
      );
    } finally {
      outsider.destroy();
      lone.destroy();
    }
  });
});
