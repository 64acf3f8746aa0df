import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  CloudControlClient,
  CreateResourceCommand,
  GetResourceRequestStatusCommand,
} from '@aws-sdk/client-cloudcontrol';
import { pino } from 'pino';
import { catalog } from '../catalog/index.js';
import type { Table } from '../catalog/types.js';
import { startEmulator, sampleConnectorProfiles, type RunningEmulator } from '../emulator/index.js';
import { CloudControl, type CloudControlOptions } from '../server/cloudcontrol/client.js';
import { pgErrorFromAws, pgErrorFromProgressEvent } from '../server/cloudcontrol/errors.js';
import { PgError } from '../server/errors.js';
import { useFakeAwsEnvironment } from './support/processes.js';

useFakeAwsEnvironment();

const typeName = 'AWS::AppFlow::ConnectorProfile';
const resource = catalog.table('appflow', 'connector_profile')!;
const collection = catalog.table('appflow', 'connector_profiles')!;
const namesIn = (region: string) =>
  sampleConnectorProfiles
    .filter((p) => p.region === region)
    .map((p) => p.desiredState.ConnectorProfileName as string)
    .sort();

/**
 * Sits between the client and the emulator on loopback and counts what went over the wire, per operation,
 * and how many requests the client gave up on before the answer (an aborted SDK call).
 */
class CountingProxy {
  readonly counts = new Map<string, number>();
  abandoned = 0;
  #server: http.Server;

  constructor(upstreamPort: number) {
    this.#server = http.createServer((req, res) => {
      const op =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      this.counts.set(op, (this.count(op) ?? 0) + 1);
      res.on('close', () => {
        if (!res.writableFinished) this.abandoned++;
      });
      const upstream = http.request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
  }

  count(op: string): number {
    return this.counts.get(op) ?? 0;
  }

  reset(): void {
    this.counts.clear();
    this.abandoned = 0;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

let emulator: RunningEmulator;
let proxy: CountingProxy;
let endpoint: string;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, sampleData: true, logLevel: 'silent' });
  proxy = new CountingProxy(emulator.port);
  endpoint = await proxy.listen();
});

afterAll(async () => {
  await proxy?.close();
  await emulator?.close();
});

beforeEach(() => {
  emulator.setFaults({ latencyMs: {}, throttleRps: 0, internalErrorRate: 0, denyOperations: [] });
  proxy.reset();
});

const made: CloudControl[] = [];
afterEach(() => made.splice(0).forEach((cc) => cc.destroy()));

function cloud(options: Partial<CloudControlOptions> = {}): CloudControl {
  const cc = new CloudControl({ endpoint, defaultRegions: ['us-east-1'], ...options }, catalog);
  made.push(cc);
  return cc;
}

async function rejection(promise: Promise<unknown>): Promise<PgError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PgError);
  return err as PgError;
}

const fetch = (
  cc: CloudControl,
  table: Table,
  keys: Parameters<CloudControl['fetchRows']>[1],
  notices: string[] = [],
  columns?: Parameters<CloudControl['fetchRows']>[4],
) => cc.fetchRows(table, keys, (m) => notices.push(m), undefined, columns);

describe('reads', () => {
  test('GetResource for each identifier; a missing one yields no row', async () => {
    const rows = await fetch(cloud(), resource, {
      region: ['us-east-1'],
      data__identifier: ['slack-workspace', 'no-such-profile', 'salesforce-prod', 'slack-workspace', ''],
    });
    expect(rows.map((r) => r.data__identifier)).toEqual(['slack-workspace', 'salesforce-prod']);
    expect(rows[0]).toMatchObject({
      region: 'us-east-1',
      connector_profile_name: 'slack-workspace',
      connector_type: 'Slack',
      connection_mode: 'Public',
      data__patchdocument: null,
    });
    expect(rows[0]!.connector_profile_arn).toMatch(
      /^arn:aws:appflow:us-east-1:\d{12}:connectorprofile\/slack-workspace$/,
    );
    expect(Object.keys(rows[0]!).sort()).toEqual(resource.columns.map((c) => c.name).sort());
    expect(proxy.count('GetResource')).toBe(3);
    expect(proxy.count('ListResources')).toBe(0);
  });

  test('write-only columns are null even where the resource has them', async () => {
    const [row] = await fetch(cloud(), resource, {
      region: ['us-east-1'],
      data__identifier: ['snowflake-analytics'],
    });
    expect(row).toMatchObject({
      connector_profile_name: 'snowflake-analytics',
      kms_arn: null,
      connector_profile_config: null,
    });
    const [listed] = await fetch(cloud(), collection, {
      region: ['us-east-1'],
      data__identifier: ['snowflake-analytics'],
    });
    expect(listed).toMatchObject({ kms_arn: null, connector_profile_config: null });
  });

  test('without identifiers: list, then GetResource for each, with a notice', async () => {
    const notices: string[] = [];
    const rows = await fetch(cloud(), resource, { region: ['us-east-1'] }, notices);
    expect(rows.map((r) => r.data__identifier).sort()).toEqual(namesIn('us-east-1'));
    expect(proxy.count('ListResources')).toBe(1);
    expect(proxy.count('GetResource')).toBe(namesIn('us-east-1').length);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`listed ${namesIn('us-east-1').length} connector profiles in us-east-1`);
    expect(notices[0]).toContain('each row costs one GetResource call');
    expect(notices[0]).toContain('appflow.connector_profiles');
  });

  test('collection table: ListResources over every page (60 resources), identifiers filtered here, GetResource only for columns the list lacks', async () => {
    const region = 'ap-southeast-2';
    emulator.setFaults({ completionDelayMs: 0 });
    const sdk = new CloudControlClient({ region, endpoint: emulator.endpoint });
    const tokens = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const desired = {
          ConnectorProfileName: `bulk-${String(i).padStart(2, '0')}`,
          ConnectorType: 'Slack',
          ConnectionMode: 'Public',
        };
        const out = await sdk.send(
          new CreateResourceCommand({ TypeName: typeName, DesiredState: JSON.stringify(desired) }),
        );
        return out.ProgressEvent!.RequestToken!;
      }),
    );
    for (const token of tokens) {
      for (let i = 0; ; i++) {
        const { ProgressEvent } = await sdk.send(
          new GetResourceRequestStatusCommand({ RequestToken: token }),
        );
        if (ProgressEvent?.OperationStatus === 'SUCCESS') break;
        if (ProgressEvent?.OperationStatus === 'FAILED' || i > 100)
          throw new Error(`create failed: ${ProgressEvent?.StatusMessage}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    sdk.destroy();
    proxy.reset();

    const cc = cloud();
    const notices: string[] = [];
    // Only identifier columns: the list (identifiers only, as the live service gives) is enough.
    const names = await fetch(
      cc,
      collection,
      { region: [region] },
      notices,
      new Set(['region', 'data__identifier', 'connector_profile_name']),
    );
    expect(names).toHaveLength(60);
    expect(new Set(names.map((r) => r.connector_profile_name)).size).toBe(60);
    // Not read: not fetched, and left out of the row (it loads as NULL).
    expect(names.every((r) => r.connector_type === undefined)).toBe(true);
    expect(proxy.count('ListResources')).toBe(3); // pages of 25, 25, 10
    expect(proxy.count('GetResource')).toBe(0);
    expect(notices).toEqual([]);

    // Every column: each listed resource is read.
    const rows = await fetch(cc, collection, { region: [region] }, notices);
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.data__identifier)).size).toBe(60);
    expect(rows.every((r) => r.region === region && r.connector_type === 'Slack')).toBe(true);
    expect(proxy.count('ListResources')).toBe(3); // served from the cache
    expect(proxy.count('GetResource')).toBe(60);
    expect(notices).toEqual([]);

    proxy.reset();
    const some = await fetch(cc, collection, {
      region: [region],
      data__identifier: ['bulk-07', 'bulk-59', 'nope'],
    });
    expect(some.map((r) => r.data__identifier)).toEqual(['bulk-07', 'bulk-59']);
    expect(some.every((r) => r.connector_type === 'Slack')).toBe(true);
    expect(proxy.count('ListResources')).toBe(0); // served from the cache
    expect(proxy.count('GetResource')).toBe(0); // so are the two reads
  });

  test('regions are separate; default regions apply when none is pinned', async () => {
    const cc = cloud({ defaultRegions: ['us-east-1', 'eu-west-1'] });
    const all = await fetch(cc, collection, {});
    expect(
      all
        .filter((r) => r.region === 'us-east-1')
        .map((r) => r.data__identifier)
        .sort(),
    ).toEqual(namesIn('us-east-1'));
    expect(
      all
        .filter((r) => r.region === 'eu-west-1')
        .map((r) => r.data__identifier)
        .sort(),
    ).toEqual(namesIn('eu-west-1'));
    expect(all.every((r) => String(r.connector_profile_arn).includes(`:${r.region}:`))).toBe(true);

    const eu = await fetch(cc, collection, { region: ['eu-west-1'] });
    expect(eu.map((r) => r.region)).toEqual(namesIn('eu-west-1').map(() => 'eu-west-1'));
    expect(
      await fetch(cc, resource, { region: ['eu-west-1'], data__identifier: ['salesforce-prod'] }),
    ).toEqual([]);
    expect(await fetch(cc, resource, { region: [], data__identifier: ['salesforce-prod'] })).toEqual([]);
  });

  test('no region pinned and no default -> 22023 saying how to give one', async () => {
    const err = await rejection(fetch(cloud({ defaultRegions: [] }), resource, { data__identifier: ['x'] }));
    expect(err.code).toBe('22023');
    expect(err.message).toContain("WHERE region = '");
    expect(err.message).toContain('--region');
    expect(err.message).toContain('AWS_REGION');
    expect(proxy.count('GetResource')).toBe(0);
  });
});

describe('faults', () => {
  test('throttling is retried until it succeeds', async () => {
    emulator.setFaults({ throttleRps: 3 });
    const names = namesIn('us-east-1');
    const cc = cloud({ maxAttempts: 10, cacheTtlMs: 0 });
    const [a, b] = await Promise.all([
      fetch(cc, resource, { region: ['us-east-1'], data__identifier: names }),
      fetch(cc, resource, { region: ['eu-west-1'], data__identifier: namesIn('eu-west-1') }),
    ]);
    expect(a.map((r) => r.data__identifier)).toEqual(names);
    expect(b).toHaveLength(namesIn('eu-west-1').length);
    expect(proxy.count('GetResource')).toBeGreaterThan(names.length + namesIn('eu-west-1').length);
  }, 30000);

  test('AccessDenied -> 42501 with the permissions in the hint', async () => {
    emulator.setFaults({ denyOperations: ['GetResource'] });
    const err = await rejection(
      fetch(cloud(), resource, { region: ['us-east-1'], data__identifier: ['salesforce-prod'] }),
    );
    expect(err.code).toBe('42501');
    expect(err.fields.hint).toContain('appflow:DescribeConnectorProfiles');
    expect(err.fields.hint).toContain('cloudformation:GetResource');
    expect(err.fields.detail).toContain('AccessDeniedException');
    expect(err.message).toContain('salesforce-prod');
  });

  test('a 5xx that outlasts the retries -> HV000 with the AWS name in DETAIL', async () => {
    emulator.setFaults({ internalErrorRate: 1 });
    const err = await rejection(fetch(cloud({ maxAttempts: 3 }), collection, { region: ['us-east-1'] }));
    expect(err.code).toBe('HV000');
    expect(err.message).toContain('after 3 attempts');
    expect(err.fields.detail).toMatch(/^ServiceInternalErrorException: .*HTTP 502/);
    expect(proxy.count('ListResources')).toBe(3);
  });

  test('an unreachable endpoint -> HV00N', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const cc = cloud({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 });
    const err = await rejection(fetch(cc, collection, {}));
    expect(err.code).toBe('HV00N');
    expect(err.fields.detail).toContain('ECONNREFUSED');
  });

  test('one failure among many GetResource calls fails the read', async () => {
    const cc = cloud();
    emulator.setFaults({ denyOperations: ['GetResource'] });
    const err = await rejection(fetch(cc, resource, { region: ['us-east-1'] }));
    expect(err.code).toBe('42501');
    // Calls already on the wire when the first failure aborted them still reach the emulator; let them land
    // here rather than in the next test's counts.
    await new Promise((r) => setTimeout(r, 300));
    expect(proxy.count('GetResource')).toBeLessThanOrEqual(namesIn('us-east-1').length);
  });
});

describe('cache, coalescing and cancel', () => {
  test('concurrent identical reads share one GetResource; a later one within the TTL is cached', async () => {
    emulator.setFaults({ latencyMs: { GetResource: 200 } });
    const cc = cloud();
    const keys = { region: ['us-east-1'], data__identifier: ['salesforce-prod'] };
    const [a, b] = await Promise.all([fetch(cc, resource, keys), fetch(cc, resource, keys)]);
    expect(a).toEqual(b);
    expect(a[0]).not.toBe(b[0]); // each caller gets its own rows
    expect(proxy.count('GetResource')).toBe(1);
    await fetch(cc, resource, keys);
    expect(proxy.count('GetResource')).toBe(1);

    cc.invalidate(typeName, 'us-east-1');
    await fetch(cc, resource, keys);
    expect(proxy.count('GetResource')).toBe(2);
  });

  test('cacheTtlMs 0 keeps coalescing but caches nothing', async () => {
    emulator.setFaults({ latencyMs: { ListResources: 200 } });
    const cc = cloud({ cacheTtlMs: 0 });
    await Promise.all([fetch(cc, collection, {}), fetch(cc, collection, {}), fetch(cc, resource, {})]);
    expect(proxy.count('ListResources')).toBe(1);
    await fetch(cc, collection, {});
    expect(proxy.count('ListResources')).toBe(2);
  });

  test('errors are not cached', async () => {
    const cc = cloud();
    emulator.setFaults({ denyOperations: ['ListResources'] });
    await rejection(fetch(cc, collection, {}));
    emulator.setFaults({ denyOperations: [] });
    expect((await fetch(cc, collection, {})).length).toBe(namesIn('us-east-1').length);
  });

  test('the signal aborts the in-flight call and rejects with its reason', async () => {
    // Short enough that the emulator's own latency timer is gone before the suite ends.
    emulator.setFaults({ latencyMs: { GetResource: 1000 } });
    const cc = cloud();
    const controller = new AbortController();
    const reason = new Error('statement timeout');
    const started = Date.now();
    const pending = cc.fetchRows(
      resource,
      { region: ['us-east-1'], data__identifier: ['salesforce-prod'] },
      () => {},
      controller.signal,
    );
    setTimeout(() => controller.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(600);
    await new Promise((r) => setTimeout(r, 100));
    expect(proxy.abandoned).toBe(1);
  });

  test('one caller cancelling does not cancel a read it shares with another', async () => {
    emulator.setFaults({ latencyMs: { GetResource: 300 } });
    const cc = cloud();
    const keys = { region: ['us-east-1'], data__identifier: ['salesforce-prod'] };
    const controller = new AbortController();
    const cancelled = cc.fetchRows(resource, keys, () => {}, controller.signal);
    const kept = cc.fetchRows(resource, keys, () => {});
    setTimeout(() => controller.abort(new Error('cancel')), 50);
    await expect(cancelled).rejects.toThrow('cancel');
    expect(await kept).toHaveLength(1);
    expect(proxy.count('GetResource')).toBe(1);
    expect(proxy.abandoned).toBe(0);
  });

  test('with cacheTtlMs 0 a shared read outlives one cancelled caller, and stops when the last one leaves', async () => {
    emulator.setFaults({ latencyMs: { GetResource: 300 } });
    const cc = cloud({ cacheTtlMs: 0 });
    const keys = { region: ['us-east-1'], data__identifier: ['salesforce-prod'] };
    const first = new AbortController();
    const cancelled = cc.fetchRows(resource, keys, () => {}, first.signal);
    const kept = cc.fetchRows(resource, keys, () => {});
    setTimeout(() => first.abort(new Error('cancel')), 50);
    await expect(cancelled).rejects.toThrow('cancel');
    expect(await kept).toHaveLength(1);
    expect(proxy.count('GetResource')).toBe(1);
    expect(proxy.abandoned).toBe(0);

    // Both callers leave: the call is abandoned, and the next read is a call of its own.
    const [a, b] = [new AbortController(), new AbortController()];
    const reads = [a, b].map((c) => cc.fetchRows(resource, keys, () => {}, c.signal));
    setTimeout(() => [a, b].forEach((c) => c.abort(new Error('gone'))), 50);
    for (const read of reads) await expect(read).rejects.toThrow('gone');
    await new Promise((r) => setTimeout(r, 100));
    expect(proxy.abandoned).toBe(1);
    expect(proxy.count('GetResource')).toBe(2);
    expect(await cc.fetchRows(resource, keys, () => {})).toHaveLength(1);
    expect(proxy.count('GetResource')).toBe(3);
  });

  test('debug log names the call, never the properties', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()),
    });
    const cc = new CloudControl(
      { endpoint, defaultRegions: ['us-east-1'] },
      catalog,
      pino({ level: 'debug' }, sink),
    );
    await fetch(cc, resource, { data__identifier: ['salesforce-prod'] });
    const entry = JSON.parse(lines.find((l) => l.includes('GetResource'))!) as Record<string, unknown>;
    expect(entry).toMatchObject({
      operation: 'GetResource',
      region: 'us-east-1',
      identifier: 'salesforce-prod',
    });
    expect(typeof entry.ms).toBe('number');
    expect(lines.join('')).not.toContain('salesforce.com');
  });
});

describe('error mapping', () => {
  const ctx = { operation: 'UpdateResource', table: resource, region: 'us-east-1', identifier: 'p1' };
  const aws = (name: string, message: string, status = 400) =>
    Object.assign(new Error(message), {
      name,
      $fault: 'client',
      $metadata: { httpStatusCode: status, requestId: 'req-1' },
    });

  test.each([
    ['ThrottlingException', '53400'],
    ['ValidationException', '22023'],
    ['InvalidRequestException', '22023'],
    ['ClientTokenConflictException', '22023'],
    ['TypeNotFoundException', '42P01'],
    ['AlreadyExistsException', '23505'],
    ['NotUpdatableException', '0A000'],
    ['ResourceNotFoundException', '42704'],
    ['ServiceLimitExceededException', '54000'],
    ['UnrecognizedClientException', '28000'],
    ['ExpiredTokenException', '28000'],
    ['InvalidCredentialsException', '28000'],
    ['HandlerInternalFailureException', 'HV000'],
    ['SomethingNewException', 'HV000'],
  ])('%s -> %s', (name, code) => {
    const err = pgErrorFromAws(aws(name, 'm'), ctx);
    expect(err.code).toBe(code);
    expect(err.fields.detail).toContain(`${name}: m`);
  });

  test('ConcurrentOperation -> 55P03 naming the other request', () => {
    const err = pgErrorFromAws(
      aws('ConcurrentOperationException', 'Another request (RequestToken: abc-123) is in progress'),
      ctx,
    );
    expect(err.code).toBe('55P03');
    expect(err.fields.hint).toContain('abc-123');
  });

  test('a generic handler failure is mapped by its HandlerErrorCode', () => {
    const err = pgErrorFromAws(
      aws('GeneralServiceException', 'Handler failed (HandlerErrorCode: AccessDenied, RequestToken: t)'),
      ctx,
    );
    expect(err.code).toBe('42501');
    expect(err.fields.hint).toContain('appflow:UpdateConnectorProfile');
  });

  test('missing credentials and network failures', () => {
    const creds = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(pgErrorFromAws(creds, ctx)).toMatchObject({ code: '28000' });
    expect(pgErrorFromAws(creds, ctx).fields.hint).toContain('AWS_ACCESS_KEY_ID');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(pgErrorFromAws(refused, ctx).code).toBe('HV00N');
  });

  test('secrets never reach the message', () => {
    const err = pgErrorFromAws(
      aws('ValidationException', 'value hunter2-secret for AKIAIOSFODNN7EXAMPLE is bad'),
      {
        ...ctx,
        secrets: ['hunter2-secret'],
      },
    );
    const text = `${err.message} ${err.fields.detail} ${err.fields.hint ?? ''}`;
    expect(text).not.toContain('hunter2-secret');
    expect(text).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  test('failed ProgressEvents use the same table', () => {
    expect(pgErrorFromProgressEvent({ ErrorCode: 'AlreadyExists', StatusMessage: 'exists' }, ctx).code).toBe(
      '23505',
    );
    expect(pgErrorFromProgressEvent({ ErrorCode: 'NotStabilized' }, ctx).code).toBe('HV000');
  });
});
