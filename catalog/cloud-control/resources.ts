import type { RequestsTable } from '../types.js';
import { accountColumns, column } from './column.js';

const writableKey = { key: true, readOnly: false };

/**
 * Resources of any Cloud Control resource type, including types the catalog has no tables for (private and
 * third-party types activated in the account): one row per resource, its model as jsonb. A read names the
 * type with `WHERE type_name = '...'`; with `identifier = '...'` too it is a GetResource, else a
 * ListResources (whose Properties are what the type's list handler returns: for some types only the
 * identifier). INSERT creates (properties is the DesiredState), UPDATE sends the difference of properties as
 * a JSON Patch, DELETE deletes. Its `key` columns type_name, identifier, region, account_id and account_name
 * are pushed down (a statement that pins no account reads every configured account); a statement that pins no
 * type_name is refused (22023). UPDATE and DELETE go to the row's account; with several accounts configured an
 * INSERT names its account.
 */
export const resources: RequestsTable = {
  schema: 'cloud_control',
  name: 'resources',
  kind: 'requests',
  description:
    "Resources of any Cloud Control resource type; WHERE type_name = '...' is required (and identifier = '...' reads one)",
  columns: [
    column(
      'type_name',
      'text',
      'Resource type, e.g. AWS::S3::Bucket; every statement must pin it.',
      writableKey,
    ),
    column('region', 'text', 'AWS region.', writableKey),
    column(
      'identifier',
      'text',
      "The resource's primary identifier as Cloud Control reports it (parts joined by '|'); with region, it selects one resource.",
      { ...writableKey, identifier: true },
    ),
    column(
      'properties',
      'jsonb',
      'The resource model (write-only properties are never returned); on INSERT the DesiredState, on UPDATE the new model.',
      { readOnly: false },
    ),
    ...accountColumns(true),
  ],
  methods: [
    {
      name: 'list_resources',
      verb: 'SELECT',
      operation: 'ListResources',
      requiredParams: ['type_name', 'region'],
      permissions: [],
    },
    {
      name: 'get_resource',
      verb: 'SELECT',
      operation: 'GetResource',
      requiredParams: ['type_name', 'identifier', 'region'],
      permissions: [],
    },
    {
      name: 'create_resource',
      verb: 'INSERT',
      operation: 'CreateResource',
      requiredParams: ['type_name', 'properties', 'region'],
      permissions: [],
    },
    {
      name: 'update_resource',
      verb: 'UPDATE',
      operation: 'UpdateResource',
      requiredParams: ['type_name', 'identifier', 'properties', 'region'],
      permissions: [],
    },
    {
      name: 'delete_resource',
      verb: 'DELETE',
      operation: 'DeleteResource',
      requiredParams: ['type_name', 'identifier', 'region'],
      permissions: [],
    },
  ],
};
