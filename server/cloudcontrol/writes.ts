import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  CreateResourceCommand,
  DeleteResourceCommand,
  UpdateResourceCommand,
  type CloudControlClient,
  type ProgressEvent,
} from '@aws-sdk/client-cloudcontrol';
import type { Operation } from 'fast-json-patch';
import pLimit from 'p-limit';
import type { ResourceTable } from '../../catalog/types.js';
import { PgError, SqlState } from '../errors.js';
import { awaitRequest, LostTrack, type FinalStatus } from './await.js';
import { inFlightWrites, type InFlightWrite } from './in-flight.js';
import { untilAborted } from './cache.js';
import type { AccountPin } from './accounts.js';
import type { CallTally } from './call-tracking.js';
import type { CallInfo, CloudControl } from './client.js';
import { pgErrorFromAws, pgErrorFromProgressEvent, type AwsErrorContext } from './errors.js';
import { canceledError, label, lostTrackError, type Tracked } from './write-messages.js';
import { writeOnlyValues } from './write-secrets.js';
import { abortable } from './abortable.js';

export type WriteRequest =
  | {
      operation: 'CreateResource';
      region: string;
      /** From the desired state's primary identifier; used in messages only. */
      identifier: string;
      desiredState: Record<string, unknown>;
      /** The configured account written to; absent: the first. */
      account?: AccountPin;
    }
  | {
      operation: 'UpdateResource';
      region: string;
      identifier: string;
      patch: Operation[];
      account?: AccountPin;
    }
  | { operation: 'DeleteResource'; region: string; identifier: string; account?: AccountPin };

export interface WriteOutcome {
  request: WriteRequest;
  status: FinalStatus;
  /** Absent when the call was refused synchronously. */
  requestToken?: string;
  /** The resource's identifier as Cloud Control reported it when the request ended (a create's new resource). */
  identifier?: string;
  /** For FAILED / CANCEL_COMPLETE / synchronous refusals; write-only values masked. */
  error?: PgError;
}

export interface WriteOptions {
  /** One message per state change of each request, e.g. `UpdateResource p in us-east-1: SUCCESS`. */
  onProgress(message: string): void;
  /** Cancel / statement_timeout. */
  signal: AbortSignal;
  /** Requests in flight at once for this statement (default 4). */
  concurrency?: number;
  /** Default: a fresh UUID per request (what the SDK would fill in). */
  clientToken?: (request: WriteRequest) => string;
  /** The statement's call tally (cloud_control.sessions): every call counts in it. */
  calls?: CallTally;
}

export { WritesCanceledError } from './write-messages.js';

/**
 * Sends each request and awaits it: polls GetResourceRequestStatus with exponential backoff (100 ms, x1.5,
 * cap 5 s), honouring RetryAfter, until SUCCESS, FAILED or CANCEL_COMPLETE. Outcomes come back in request
 * order. Never rejects for a failed request (its outcome says so) except on abort: then it stops waiting and
 * rejects with a WritesCanceledError (PgError 57014) whose DETAIL lists every request still in flight, which
 * Cloud Control goes on with. Afterwards, aborted or not, drops cached reads of the type in the regions touched.
 */
export async function applyWrites(
  cloud: CloudControl,
  table: ResourceTable,
  requests: WriteRequest[],
  options: WriteOptions,
): Promise<WriteOutcome[]> {
  const { signal } = options;
  const tracked: Tracked[] = requests.map((request) => ({ request, state: 'queued' }));
  if (signal.aborted) throw canceledError(signal.reason, tracked);
  if (requests.length === 0) return [];

  const concurrency = Math.max(1, options.concurrency ?? 4);
  // Each request in flight listens on the signal several times over (call, send, sleep); a signal of our
  // own, raised above Node's default of 10 listeners, keeps a wide statement from warning about leaks.
  const inner = new AbortController();
  setMaxListeners(8 * concurrency + 10, inner.signal);
  const forward = () => inner.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  const limit = pLimit(concurrency);
  const runOptions = { ...options, signal: inner.signal };
  const all = Promise.all(tracked.map((t) => limit(() => run(cloud, table, t, runOptions))));
  try {
    return await untilAborted(all, inner.signal);
  } catch (err) {
    if (signal.aborted) throw canceledError(signal.reason, tracked);
    throw err;
  } finally {
    signal.removeEventListener('abort', forward);
    // Awaited: with a shared cache, the statement ends only once no bridge can serve the old state.
    await Promise.all(
      [...new Set(requests.map((r) => r.region))].map((region) =>
        cloud.invalidate(table.resource.typeName, region),
      ),
    );
  }
}

async function run(
  cloud: CloudControl,
  table: ResourceTable,
  t: Tracked,
  options: WriteOptions,
): Promise<WriteOutcome> {
  const { request } = t;
  const { signal } = options;
  // Requests still queued when the statement is cancelled are never sent.
  signal.throwIfAborted();
  const context: AwsErrorContext = {
    operation: request.operation,
    table,
    region: request.region,
    identifier: request.identifier,
    secrets: writeOnlyValues(table, request),
  };
  const info: CallInfo = {
    operation: request.operation,
    region: request.region,
    ...(request.account ? { account: request.account } : {}),
    typeName: table.resource.typeName,
    identifier: request.identifier,
    tally: options.calls,
  };
  const clientToken = options.clientToken?.(request) ?? randomUUID();

  t.state = 'sending';
  const inFlight: InFlightWrite = { request, typeName: table.resource.typeName, clientToken };
  inFlightWrites.add(inFlight);
  try {
    return await sendAndAwait(cloud, t, options, context, info, clientToken, table, inFlight);
  } finally {
    inFlightWrites.delete(inFlight);
  }
}

async function sendAndAwait(
  cloud: CloudControl,
  t: Tracked,
  options: WriteOptions,
  context: AwsErrorContext,
  info: CallInfo,
  clientToken: string,
  table: ResourceTable,
  inFlight: InFlightWrite,
): Promise<WriteOutcome> {
  const { request } = t;
  const { signal, onProgress } = options;
  let event: ProgressEvent;
  try {
    const out = await cloud.call(info, signal, (client) => send(client, table, request, clientToken, signal));
    if (!out.ProgressEvent?.RequestToken)
      throw new Error(`${request.operation} answered without a RequestToken`);
    event = out.ProgressEvent;
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    const error = pgErrorFromAws(err, context);
    onProgress(`${label(request)}: FAILED (${awsName(err)})`);
    return settle(t, { request, status: 'FAILED', error });
  }

  const requestToken = event.RequestToken!;
  t.requestToken = requestToken;
  inFlight.requestToken = requestToken;
  t.state = 'waiting';
  const notify = (e: ProgressEvent, withToken = false) => {
    const code = e.ErrorCode ? ` (${e.ErrorCode})` : '';
    const token = withToken ? ` (request ${requestToken})` : '';
    onProgress(`${label(request)}: ${e.OperationStatus ?? 'IN_PROGRESS'}${code}${token}`);
  };
  // The first notice carries the token: it is what the user needs to follow the request elsewhere.
  notify(event, true);

  let final: ProgressEvent;
  try {
    final = await awaitRequest(cloud, info, event, signal, notify, (err) =>
      pgErrorFromAws(err, { ...context, operation: 'GetResourceRequestStatus' }),
    );
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (!(err instanceof LostTrack)) throw err;
    onProgress(`${label(request)}: status unknown (request ${requestToken})`);
    return settle(t, { request, status: 'FAILED', requestToken, error: lostTrackError(err.error, t) });
  }

  const status = final.OperationStatus as FinalStatus;
  const outcome: WriteOutcome = {
    request,
    status,
    requestToken,
    ...(final.Identifier ? { identifier: final.Identifier } : {}),
  };
  if (status === 'FAILED') outcome.error = pgErrorFromProgressEvent(final, context);
  if (status === 'CANCEL_COMPLETE') outcome.error = cancelledElsewhere(t, table);
  return settle(t, outcome);
}

function send(
  client: CloudControlClient,
  table: ResourceTable,
  request: WriteRequest,
  clientToken: string,
  signal: AbortSignal,
) {
  const common = { TypeName: table.resource.typeName, ClientToken: clientToken };
  switch (request.operation) {
    case 'CreateResource':
      return client.send(
        abortable(
          new CreateResourceCommand({ ...common, DesiredState: JSON.stringify(request.desiredState) }),
          signal,
        ),
      );
    case 'UpdateResource':
      return client.send(
        abortable(
          new UpdateResourceCommand({
            ...common,
            Identifier: request.identifier,
            PatchDocument: JSON.stringify(request.patch),
          }),
          signal,
        ),
      );
    case 'DeleteResource':
      return client.send(
        abortable(new DeleteResourceCommand({ ...common, Identifier: request.identifier }), signal),
      );
  }
}

function settle(t: Tracked, outcome: WriteOutcome): WriteOutcome {
  t.state = 'done';
  t.outcome = outcome;
  return outcome;
}

/** Someone ran CancelResourceRequest on it (the console, the CLI): the statement did not ask for that. */
function cancelledElsewhere(t: Tracked, table: ResourceTable): PgError {
  const { request } = t;
  return new PgError(
    SqlState.query_canceled,
    `${request.operation} of "${request.identifier}" (${table.schema}.${table.name} in ${request.region}) ` +
      'was cancelled in Cloud Control before it completed',
    {
      detail: `RequestToken ${t.requestToken}: its status is CANCEL_COMPLETE (CancelResourceRequest).`,
      hint: 'The change may be partly applied; read the resource to see its state.',
    },
  );
}

/** The AWS error's name for a notice: never its message, which may echo what was sent. */
function awsName(err: unknown): string {
  const name = (err as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /^[A-Za-z]{1,80}$/.test(name) ? name : 'error';
}
