import {
  CancelResourceRequestCommand,
  CloudControlClient,
  GetResourceRequestStatusCommand,
  UpdateResourceCommand,
} from '@aws-sdk/client-cloudcontrol';
import type { Operation } from 'fast-json-patch';
import { catalog, type ResourceTable } from '../catalog/index.js';
import { startEmulator, type RunningEmulator } from '../emulator/index.js';
import { nextPollDelay } from '../server/cloudcontrol/await.js';
import { CloudControl, type CloudControlOptions } from '../server/cloudcontrol/client.js';
import { listResourceRequests, resourceRequestColumns } from '../server/cloudcontrol/requests.js';
import {
  applyWrites,
  WritesCanceledError,
  type WriteOptions,
  type WriteOutcome,
  type WriteRequest,
} from '../server/cloudcontrol/writes.js';
import { PgError, SqlState } from '../server/errors.js';
import { eventually, useFakeAwsEnvironment } from './support/processes.js';

useFakeAwsEnvironment();

const typeName = 'AWS::AppFlow::ConnectorProfile';
const resource = catalog.table('appflow', 'connector_profile') as ResourceTable;
const collection = catalog.table('appflow', 'connector_profiles') as ResourceTable;
const region = 'us-east-1';

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, sampleData: true, logLevel: 'silent', completionDelayMs: 50 });
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(() => emulator.reset());

const made: { destroy(): void }[] = [];
afterEach(() => made.splice(0).forEach((c) => c.destroy()));

function cloud(options: Partial<CloudControlOptions> = {}): CloudControl {
  const cc = new CloudControl({ endpoint: emulator.endpoint, defaultRegions: [region], ...options }, catalog);
  made.push(cc);
  return cc;
}

function sdk(): CloudControlClient {
  const client = new CloudControlClient({ region, endpoint: emulator.endpoint });
  made.push(client);
  return client;
}

const create = (name: string, extra: Record<string, unknown> = {}, where = region): WriteRequest => ({
  operation: 'CreateResource',
  region: where,
  identifier: name,
  desiredState: { ConnectorProfileName: name, ConnectorType: 'Slack', ConnectionMode: 'Public', ...extra },
});
const update = (name: string, patch: Operation[]): WriteRequest => ({
  operation: 'UpdateResource',
  region,
  identifier: name,
  patch,
});
const toPrivate = (name: string) =>
  update(name, [{ op: 'replace', path: '/ConnectionMode', value: 'Private' }]);
const remove = (name: string): WriteRequest => ({ operation: 'DeleteResource', region, identifier: name });

/** applyWrites with notices collected; a fresh signal unless one is given. */
function write(
  cc: CloudControl,
  requests: WriteRequest[],
  options: Partial<WriteOptions> = {},
  notices: string[] = [],
): Promise<WriteOutcome[]> {
  return applyWrites(cc, requests[0]?.operation === 'UpdateResource' ? resource : collection, requests, {
    onProgress: (m) => notices.push(m),
    signal: new AbortController().signal,
    ...options,
  });
}

const read = (cc: CloudControl, name: string) =>
  cc.fetchRows(resource, { region: [region], data__identifier: [name] }, () => {});

describe('applyWrites', () => {
  test('a create succeeds, with progress notices, and the row reads back', async () => {
    const cc = cloud();
    const notices: string[] = [];
    const [outcome] = await write(cc, [create('new-slack', { ConnectorLabel: 'team' })], {}, notices);
    expect(outcome).toMatchObject({ status: 'SUCCESS', requestToken: expect.any(String) });
    expect(outcome!.error).toBeUndefined();
    expect(notices).toEqual([
      `CreateResource new-slack in us-east-1: IN_PROGRESS (request ${outcome!.requestToken})`,
      'CreateResource new-slack in us-east-1: SUCCESS',
    ]);
    const [row] = await read(cc, 'new-slack');
    expect(row).toMatchObject({ connector_profile_name: 'new-slack', connector_type: 'Slack' });
  });

  test('an update patch and a delete', async () => {
    const cc = cloud();
    const [updated] = await write(cc, [toPrivate('slack-workspace')]);
    expect(updated!.status).toBe('SUCCESS');
    expect((await read(cc, 'slack-workspace'))[0]).toMatchObject({ connection_mode: 'Private' });

    const notices: string[] = [];
    const [deleted] = await write(cc, [remove('slack-workspace')], {}, notices);
    expect(deleted!.status).toBe('SUCCESS');
    expect(notices[1]).toBe('DeleteResource slack-workspace in us-east-1: SUCCESS');
    expect(await read(cc, 'slack-workspace')).toEqual([]);
  });

  test('a duplicate create is accepted, then FAILS with 23505', async () => {
    const notices: string[] = [];
    const [outcome] = await write(cloud(), [create('salesforce-prod')], {}, notices);
    expect(outcome!.status).toBe('FAILED');
    expect(outcome!.requestToken).toBeDefined();
    expect(outcome!.error).toBeInstanceOf(PgError);
    expect(outcome!.error!.code).toBe('23505');
    expect(outcome!.error!.message).toContain('salesforce-prod');
    expect(outcome!.error!.fields.detail).toContain('already exists');
    expect(notices).toEqual([
      expect.stringMatching(
        /^CreateResource salesforce-prod in us-east-1: IN_PROGRESS \(request [-0-9a-f]+\)$/,
      ),
      'CreateResource salesforce-prod in us-east-1: FAILED (AlreadyExists)',
    ]);
  });

  test('synchronous refusals: validation, not updatable, not found', async () => {
    const cc = cloud();
    const notices: string[] = [];
    const [invalid] = await write(cc, [create('bad-model', { Bogus: 1 })], {}, notices);
    expect(invalid).toMatchObject({ status: 'FAILED', error: { code: '22023' } });
    expect(invalid!.requestToken).toBeUndefined();
    expect(invalid!.error!.fields.detail).toContain('Model validation failed');
    expect(notices).toEqual(['CreateResource bad-model in us-east-1: FAILED (ValidationException)']);

    const [frozen] = await write(cc, [
      update('salesforce-prod', [{ op: 'replace', path: '/ConnectorType', value: 'Slack' }]),
    ]);
    expect(frozen).toMatchObject({ status: 'FAILED', error: { code: '0A000' } });
    expect(frozen!.error!.fields.detail).toContain('NotUpdatableException');
    expect(frozen!.error!.fields.hint).toContain('connector_type');

    const [missing] = await write(cc, [toPrivate('no-such-profile')]);
    expect(missing).toMatchObject({ status: 'FAILED', error: { code: '42704' } });
  });

  test('AccessDenied on UpdateResource -> 42501 naming the permissions', async () => {
    emulator.setFaults({ denyOperations: ['UpdateResource'] });
    const [outcome] = await write(cloud(), [toPrivate('salesforce-prod')]);
    expect(outcome!.status).toBe('FAILED');
    expect(outcome!.error!.code).toBe('42501');
    expect(outcome!.error!.fields.hint).toContain('appflow:UpdateConnectorProfile');
    expect(outcome!.error!.fields.hint).toContain('cloudformation:UpdateResource');
  });

  test('ConcurrentOperation -> 55P03 naming the request in the way', async () => {
    emulator.setFaults({ completionDelayMs: 600 });
    const cc = cloud();
    const first: string[] = [];
    const running = write(cc, [toPrivate('salesforce-prod')], {}, first);
    await eventually('the first write is under way', () => first.length > 0);
    const token = /request ([-0-9a-f]+)/.exec(first[0]!)![1]!;

    const [blocked] = await write(cc, [remove('salesforce-prod')]);
    expect(blocked).toMatchObject({ status: 'FAILED', error: { code: '55P03' } });
    expect(blocked!.error!.fields.hint).toContain(token);
    expect((await running)[0]!.status).toBe('SUCCESS');
  });

  test('several requests: one injected async failure, outcomes per request, bounded concurrency', async () => {
    emulator.setFaults({
      failIdentifiers: {
        'batch-3': { errorCode: 'ServiceLimitExceeded', statusMessage: 'Too many profiles' },
      },
    });
    const names = ['batch-1', 'batch-2', 'batch-3', 'batch-4', 'batch-5', 'batch-6'];
    const notices: string[] = [];
    let inFlight = 0;
    let most = 0;
    const outcomes = await write(
      cloud(),
      names.map((n) => create(n)),
      {
        concurrency: 2,
        onProgress: (m) => {
          notices.push(m);
          inFlight += m.includes('IN_PROGRESS') ? 1 : -1;
          most = Math.max(most, inFlight);
        },
      },
    );
    expect(outcomes.map((o) => o.request.identifier)).toEqual(names);
    expect(outcomes.map((o) => o.status)).toEqual([
      'SUCCESS',
      'SUCCESS',
      'FAILED',
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
    ]);
    expect(outcomes[2]!.error!.code).toBe('54000');
    expect(outcomes[2]!.error!.fields.detail).toContain('Too many profiles');
    expect(outcomes[2]!.error!.fields.detail).toContain(outcomes[2]!.requestToken);
    expect(most).toBeLessThanOrEqual(2);
    for (const name of names) {
      const mine = notices.filter((m) => m.startsWith(`CreateResource ${name} `));
      expect(mine).toHaveLength(2);
      expect(mine[0]).toContain('IN_PROGRESS');
      expect(mine[1]).toMatch(name === 'batch-3' ? /FAILED \(ServiceLimitExceeded\)$/ : /SUCCESS$/);
    }
  });

  test('write-only values echoed by AWS are masked', async () => {
    emulator.setFaults({
      failIdentifiers: {
        'leaky-1': { errorCode: 'InvalidRequest', statusMessage: 'password s3cr3t-pw is too weak' },
      },
    });
    const notices: string[] = [];
    const config = {
      ConnectorProfileCredentials: { Snowflake: { Username: 'appflow', Password: 's3cr3t-pw' } },
    };
    const [outcome] = await write(
      cloud(),
      [create('leaky-1', { ConnectorProfileConfig: config })],
      {},
      notices,
    );
    expect(outcome!.error!.code).toBe('22023');
    const text = [outcome!.error!.message, outcome!.error!.fields.detail, ...notices].join(' ');
    expect(text).toContain('password *** is too weak');
    expect(text).not.toContain('s3cr3t-pw');
  });

  test('a request cancelled in Cloud Control ends CANCEL_COMPLETE', async () => {
    emulator.setFaults({ completionDelayMs: 2000 });
    const notices: string[] = [];
    const running = write(cloud(), [toPrivate('salesforce-prod')], {}, notices);
    await eventually('the write is under way', () => notices.length > 0);
    const token = /request ([-0-9a-f]+)/.exec(notices[0]!)![1]!;
    await sdk().send(new CancelResourceRequestCommand({ RequestToken: token }));
    const [outcome] = await running;
    expect(outcome).toMatchObject({ status: 'CANCEL_COMPLETE', requestToken: token });
    expect(outcome!.error!.code).toBe(SqlState.query_canceled);
    expect(notices.at(-1)).toBe('UpdateResource salesforce-prod in us-east-1: CANCEL_COMPLETE');
  });

  test('abort while awaiting -> 57014 listing the request; Cloud Control still completes it', async () => {
    emulator.setFaults({ completionDelayMs: 3000 });
    const cc = cloud();
    const controller = new AbortController();
    const notices: string[] = [];
    const pending = write(
      cc,
      [toPrivate('salesforce-prod'), toPrivate('slack-workspace'), toPrivate('redshift-warehouse')],
      { signal: controller.signal, concurrency: 2 },
      notices,
    );
    await eventually('both writes are under way', () => notices.length >= 2);
    controller.abort(new PgError(SqlState.query_canceled, 'canceling statement due to statement timeout'));
    const err = (await pending.catch((e: unknown) => e)) as WritesCanceledError;
    const status = async (token: string) =>
      (await sdk().send(new GetResourceRequestStatusCommand({ RequestToken: token }))).ProgressEvent
        ?.OperationStatus;
    // The abort answered without waiting for Cloud Control: both requests are still running.
    const tokens = notices.map((m) => /request ([-0-9a-f]+)/.exec(m)![1]!);
    expect(await Promise.all(tokens.map(status))).toEqual(['IN_PROGRESS', 'IN_PROGRESS']);
    expect(err).toBeInstanceOf(WritesCanceledError);
    expect(err).toBeInstanceOf(PgError);
    expect(err.code).toBe('57014');
    expect(err.message).toBe('canceling statement due to statement timeout');
    for (const token of tokens) expect(err.fields.detail).toContain(`RequestToken ${token}`);
    expect(err.fields.detail).toContain('UpdateResource salesforce-prod in us-east-1');
    expect(err.fields.detail).toContain('Cloud Control goes on with');
    expect(err.fields.detail).toContain('1 request was not sent');
    expect(err.fields.hint).toContain('SELECT * FROM cloud_control.resource_requests');
    expect(err.inFlight.map((r) => r.requestToken).sort()).toEqual([...tokens].sort());
    expect(err.fields.hint).toContain(
      `aws cloudcontrol get-resource-request-status --request-token ${err.inFlight[0]!.requestToken}`,
    );
    expect(err.settled).toEqual([]);

    for (const token of tokens)
      await eventually(`${token} succeeds`, async () => (await status(token)) === 'SUCCESS');
    expect((await read(cc, 'salesforce-prod'))[0]).toMatchObject({ connection_mode: 'Private' });
    expect((await read(cc, 'slack-workspace'))[0]).toMatchObject({ connection_mode: 'Private' });
    // The third was never sent.
    expect((await read(cc, 'redshift-warehouse'))[0]).toMatchObject({ connection_mode: 'Public' });
  });

  test('an already aborted signal sends nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await write(cloud(), [remove('salesforce-prod')], { signal: controller.signal }).catch(
      (e: unknown) => e as PgError,
    );
    expect(err).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
    expect((err as PgError).fields.detail).toContain('1 request was not sent');
    expect(await read(cloud(), 'salesforce-prod')).toHaveLength(1);
  });

  test('the cache is invalidated after a write', async () => {
    const cc = cloud({ cacheTtlMs: 60000 });
    expect((await read(cc, 'salesforce-prod'))[0]).toMatchObject({ connection_mode: 'Public' });
    await write(cc, [toPrivate('salesforce-prod')]);
    expect((await read(cc, 'salesforce-prod'))[0]).toMatchObject({ connection_mode: 'Private' });

    // A change made around this client stays unseen within the TTL: the cache is really in use.
    const patch = JSON.stringify([{ op: 'replace', path: '/ConnectionMode', value: 'Public' }]);
    const out = await sdk().send(
      new UpdateResourceCommand({ TypeName: typeName, Identifier: 'salesforce-prod', PatchDocument: patch }),
    );
    const token = out.ProgressEvent!.RequestToken!;
    await eventually('the request is listed as a success', async () =>
      (await listResourceRequests(cc, region, { statuses: ['SUCCESS'] })).some(
        (r) => r.request_token === token,
      ),
    );
    expect((await read(cc, 'salesforce-prod'))[0]).toMatchObject({ connection_mode: 'Private' });

    const listed = () => cc.fetchRows(collection, { region: [region] }, () => {});
    expect((await listed()).map((r) => r.data__identifier)).toContain('salesforce-prod');
    await write(cc, [remove('salesforce-prod')]);
    expect(await read(cc, 'salesforce-prod')).toEqual([]);
    expect((await listed()).map((r) => r.data__identifier)).not.toContain('salesforce-prod');
  });
});

describe('listResourceRequests', () => {
  test('rows over all pages, filtered by operation and status, never the model', async () => {
    const cc = cloud();
    const [updated] = await write(cc, [toPrivate('salesforce-prod')]);
    const [dup] = await write(cc, [create('slack-workspace')]);

    const all = await listResourceRequests(cc, region, {});
    expect(Object.keys(all[0]!)).toEqual(resourceRequestColumns.map((c) => c.name));
    expect(all.map((r) => r.request_token)).toEqual(
      expect.arrayContaining([updated!.requestToken, dup!.requestToken]),
    );

    const updates = await listResourceRequests(cc, region, { operations: ['UPDATE'] });
    expect(updates).toEqual([
      {
        type_name: typeName,
        identifier: 'salesforce-prod',
        request_token: updated!.requestToken,
        operation: 'UPDATE',
        operation_status: 'SUCCESS',
        event_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        status_message: null,
        error_code: null,
        retry_after: null,
        region,
        // Called without an account: the first configured one, its id not read.
        account_id: null,
        account_name: 'default',
      },
    ]);

    const failed = await listResourceRequests(cc, region, { operations: ['CREATE'], statuses: ['FAILED'] });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ request_token: dup!.requestToken, error_code: 'AlreadyExists' });
    expect(JSON.stringify(all)).not.toContain('demo-salesforce');

    // Values that are no operation or status match nothing, as in SQL, rather than failing validation.
    expect(await listResourceRequests(cc, region, { operations: ['create'] })).toEqual([]);
    expect(await listResourceRequests(cc, 'eu-central-1', {})).toEqual([]);
  });

  test('more than one page (105 requests)', async () => {
    emulator.setFaults({ completionDelayMs: 0 });
    const cc = cloud();
    const names = Array.from({ length: 105 }, (_, i) => `paged-${i}`);
    const outcomes = await write(
      cc,
      names.map((n) => create(n, {}, 'ap-northeast-1')),
      { concurrency: 25 },
    );
    expect(outcomes.every((o) => o.status === 'SUCCESS')).toBe(true);
    const rows = await listResourceRequests(cc, 'ap-northeast-1', { operations: ['CREATE'] });
    expect(rows).toHaveLength(105);
    expect(new Set(rows.map((r) => r.request_token)).size).toBe(105);
    expect(rows.every((r) => r.region === 'ap-northeast-1')).toBe(true);
  });

  test('AccessDenied names cloudformation:ListResourceRequests', async () => {
    emulator.setFaults({ denyOperations: ['ListResourceRequests'] });
    const err = (await listResourceRequests(cloud(), region, {}).catch((e: unknown) => e)) as PgError;
    expect(err).toBeInstanceOf(PgError);
    expect(err.code).toBe('42501');
    expect(err.message).toContain('cloud_control.resource_requests');
    expect(err.fields.hint).toContain('cloudformation:ListResourceRequests');
  });
});

describe('poll delay', () => {
  test('backoff unless RetryAfter names a later time', () => {
    const now = 1_000_000;
    expect(nextPollDelay(150, undefined, now)).toBe(150);
    expect(nextPollDelay(150, new Date(now + 2000), now)).toBe(2000);
    expect(nextPollDelay(150, new Date(now - 2000), now)).toBe(150);
    expect(nextPollDelay(150, new Date(now + 3_600_000), now)).toBe(300_000);
  });
});
