import {
  ListResourceRequestsCommand,
  type Operation,
  type OperationStatus,
  type ProgressEvent,
} from '@aws-sdk/client-cloudcontrol';
import { resourceRequests } from '../../catalog/cloud-control/resource-requests.js';
import type { Column } from '../../catalog/types.js';
import type { CallTally } from './call-tracking.js';
import type { CloudControl } from './client.js';
import { pgErrorFromAws } from './errors.js';
import { abortable } from './abortable.js';

/** The columns of cloud_control.resource_requests, in order: the keys of the rows listResourceRequests returns. */
export const resourceRequestColumns: readonly Column[] = resourceRequests.columns;

const operations: readonly string[] = ['CREATE', 'UPDATE', 'DELETE'];
const statuses: readonly string[] = [
  'PENDING',
  'IN_PROGRESS',
  'SUCCESS',
  'FAILED',
  'CANCEL_IN_PROGRESS',
  'CANCEL_COMPLETE',
];

/** The account columns of a request row: the configured account the requests were listed in. */
export interface AccountColumns {
  account_id: string | null;
  account_name: string;
}

/**
 * All resource requests in a region of one account (all pages, newest first as the service lists them), as rows
 * keyed by resourceRequestColumns. Never includes ResourceModel (it can hold secrets). Filter values that are
 * not operations or statuses match nothing, as they would in SQL, instead of failing the service's validation.
 * `account` absent: the first configured account, its id left NULL.
 */
export async function listResourceRequests(
  cloud: CloudControl,
  region: string,
  filter: { operations?: string[]; statuses?: string[] },
  signal?: AbortSignal,
  account: AccountColumns = { account_id: null, account_name: cloud.accounts[0]!.name },
  tally?: CallTally,
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
      const info = {
        operation: 'ListResourceRequests',
        region,
        account: { name: account.account_name },
        tally,
      };
      const out = await cloud.call(info, signal, (client) =>
        client.send(
          abortable(
            new ListResourceRequestsCommand({
              MaxResults: 100,
              NextToken: token,
              ...(Object.keys(statusFilter).length > 0 ? { ResourceRequestStatusFilter: statusFilter } : {}),
            }),
            signal,
          ),
        ),
      );
      rows.push(
        ...(out.ResourceRequestStatusSummaries ?? []).map((e) => ({ ...rowOf(e, region), ...account })),
      );
      token = out.NextToken || undefined;
      // A service that hands back a token it already gave would otherwise page forever.
      if (token !== undefined) {
        if (seen.has(token)) throw new Error('ListResourceRequests returned the same NextToken twice');
        seen.add(token);
      }
    } while (token !== undefined);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw pgErrorFromAws(err, { operation: 'ListResourceRequests', table: resourceRequests, region });
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
