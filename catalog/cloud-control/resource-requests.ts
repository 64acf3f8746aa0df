import type { RequestsTable } from '../types.js';
import { accountColumns, column } from './column.js';

/**
 * Cloud Control's own record of the create, update and delete requests it ran (ListResourceRequests;
 * the service keeps them for 7 days). Read-only. The planner pushes region, account_id, account_name, operation
 * and operation_status down: the last two become ListResourceRequests' ResourceRequestStatusFilter; a statement
 * that pins no account reads every configured account.
 * ResourceModel is never shown: it can hold secrets.
 */
export const resourceRequests: RequestsTable = {
  schema: 'cloud_control',
  name: 'resource_requests',
  kind: 'requests',
  description:
    'Cloud Control resource requests (create, update, delete) of the last 7 days, in flight or finished; read-only',
  columns: [
    column('type_name', 'text', 'Resource type, e.g. AWS::AppFlow::ConnectorProfile.'),
    column('identifier', 'text', "The resource's primary identifier (null until Cloud Control knows it)."),
    column(
      'request_token',
      'text',
      'Token of the request; aws cloudcontrol get-resource-request-status --request-token takes it.',
    ),
    column('operation', 'text', 'CREATE, UPDATE or DELETE.', { key: true }),
    column(
      'operation_status',
      'text',
      'PENDING, IN_PROGRESS, SUCCESS, FAILED, CANCEL_IN_PROGRESS or CANCEL_COMPLETE.',
      { key: true },
    ),
    column('event_time', 'timestamptz', 'When the request last changed status.'),
    column('status_message', 'text', 'Why the request failed, or what it is doing.'),
    column(
      'error_code',
      'text',
      'Handler error code of a FAILED request, e.g. AlreadyExists, NotFound, AccessDenied.',
    ),
    column(
      'retry_after',
      'timestamptz',
      'When to ask again about a request that is still running, if the service said so.',
    ),
    column('region', 'text', 'AWS region the request was made in.', { key: true }),
    ...accountColumns(false),
  ],
  methods: [
    {
      name: 'list_resource_requests',
      verb: 'SELECT',
      operation: 'ListResourceRequests',
      requiredParams: ['region'],
      // The action itself (cloudformation:ListResourceRequests) is the whole permission: no handler runs.
      permissions: [],
    },
  ],
};
