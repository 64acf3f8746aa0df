import {
  ListResourceRequestsCommand,
  type Operation,
  type OperationStatus,
  type ProgressEvent,
} from '@aws-sdk/client-cloudcontrol';
import type { Table } from '../../catalog/types.js';
import type { CloudControl } from './client.js';
import { pgErrorFromAws } from './errors.js';

export const resourceRequestColumns: { name: string; type: 'text' | 'timestamptz'; description: string }[] = [
  { name: 'type_name', type: 'text', description: 'Resource type, e.g. AWS::AppFlow::ConnectorProfile.' },
  {
    name: 'identifier',
    type: 'text',
    description: "The resource's primary identifier (null until Cloud Control knows it).",
  },
  {
    name: 'request_token',
    type: 'text',
    description:
      'Token of the request; aws cloudcontrol get-resource-request-status --request-token takes it.',
  },
  { name: 'operation', type: 'text', description: 'CREATE, UPDATE or DELETE.' },
  {
    name: 'operation_status',
    type: 'text',
    description: 'PENDING, IN_PROGRESS, SUCCESS, FAILED, CANCEL_IN_PROGRESS or CANCEL_COMPLETE.',
  },
  { name: 'event_time', type: 'timestamptz', description: 'When the request last changed status.' },
  { name: 'status_message', type: 'text', description: 'Why the request failed, or what it is doing.' },
  {
    name: 'error_code',
    type: 'text',
    description: 'Handler error code of a FAILED request, e.g. AlreadyExists, NotFound, AccessDenied.',
  },
  {
    name: 'retry_after',
    type: 'timestamptz',
    description: 'When to ask again about a request that is still running, if the service said so.',
  },
  { name: 'region', type: 'text', description: 'AWS region the request was made in.' },
];

const operations: readonly string[] = ['CREATE', 'UPDATE', 'DELETE'];
const statuses: readonly string[] = [
  'PENDING',
  'IN_PROGRESS',
  'SUCCESS',
  'FAILED',
  'CANCEL_IN_PROGRESS',
  'CANCEL_COMPLETE',
];

/**
 * Not a resource type, but the error mapping names a table: this one exists only for messages
 * ("AWS denied ListResourceRequests on cloud_control.resource_requests in us-east-1") and permissions.
 */
const requestsTable = {
  schema: 'cloud_control',
  name: 'resource_requests',
  kind: 'collection',
  description: 'Cloud Control resource requests',
  columns: [],
  methods: [],
  resource: { typeName: 'Cloud Control resource request', tables: [], properties: [] },
} as unknown as Table;

/**
 * All resource requests in a region (all pages, newest first as the service lists them), as rows keyed by
 * resourceRequestColumns. Never includes ResourceModel (it can hold secrets). Filter values that are not
 * operations or statuses match nothing, as they would in SQL, instead of failing the service's validation.
 */
export async function listResourceRequests(
  cloud: CloudControl,
  region: string,
  filter: { operations?: string[]; statuses?: string[] },
  signal?: AbortSignal,
): Promise<Record<string, unknown>[]> {
  const wantedOperations = filter.operations?.filter((o) => operations.includes(o)) as
    Operation[] | undefined;
  const wantedStatuses = filter.statuses?.filter((s) => statuses.includes(s)) as
    OperationStatus[] | undefined;
  if (wantedOperations?.length === 0 || wantedStatuses?.length === 0) return [];
  const statusFilter = {
    ...(wantedOperations ? { Operations: [...new Set(wantedOperations)] } : {}),
    ...(wantedStatuses ? { OperationStatuses: [...new Set(wantedStatuses)] } : {}),
  };

  const rows: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  try {
    do {
      const out = await cloud.call({ operation: 'ListResourceRequests', region }, signal, (client) =>
        client.send(
          new ListResourceRequestsCommand({
            MaxResults: 100,
            NextToken: token,
            ...(Object.keys(statusFilter).length > 0 ? { ResourceRequestStatusFilter: statusFilter } : {}),
          }),
          { abortSignal: signal },
        ),
      );
      rows.push(...(out.ResourceRequestStatusSummaries ?? []).map((e) => rowOf(e, region)));
      token = out.NextToken || undefined;
      // A service that hands back a token it already gave would otherwise page forever.
      if (token !== undefined) {
        if (seen.has(token)) throw new Error('ListResourceRequests returned the same NextToken twice');
        seen.add(token);
      }
    } while (token !== undefined);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw pgErrorFromAws(err, { operation: 'ListResourceRequests', table: requestsTable, region });
  }
  return rows;
}

function rowOf(e: ProgressEvent, region: string): Record<string, unknown> {
  return {
    type_name: e.TypeName ?? null,
    identifier: e.Identifier ?? null,
    request_token: e.RequestToken ?? null,
    operation: e.Operation ?? null,
    operation_status: e.OperationStatus ?? null,
    event_time: iso(e.EventTime),
    status_message: e.StatusMessage ?? null,
    error_code: e.ErrorCode ?? null,
    retry_after: iso(e.RetryAfter),
    region,
  };
}

function iso(date: Date | undefined): string | null {
  // Duck-typed: under jest the SDK's Date may come from another realm.
  return typeof date?.getTime === 'function' && Number.isFinite(date.getTime()) ? date.toISOString() : null;
}
