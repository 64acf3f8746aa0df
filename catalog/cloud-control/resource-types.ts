import type { ResourceType, ResourceTypesTable } from '../types.js';
import { column } from './column.js';

/**
 * The resource types this server serves (all of the registry snapshot, or those `--types` selects), one row
 * each, from the catalog: no AWS call, no region. Read-only.
 */
export const resourceTypes: ResourceTypesTable = {
  schema: 'cloud_control',
  name: 'resource_types',
  kind: 'resource_types',
  description:
    'The resource types served here, one row each, from the CloudFormation registry snapshot: their tables, identifiers, handlers and property flags; read-only',
  columns: [
    column('type_name', 'text', 'Resource type, e.g. AWS::S3::Bucket.'),
    column('schema', 'text', 'Postgres schema of its tables, e.g. s3.'),
    column(
      'resource_table',
      'text',
      'Table that gets (and updates) one resource by identifier, e.g. bucket.',
    ),
    column(
      'collection_table',
      'text',
      'Table that lists, creates and deletes resources, e.g. buckets (the rule for names is in the README).',
    ),
    column(
      'primary_identifier',
      'text[]',
      "Properties whose values, joined by '|', make a resource's identifier (data__identifier).",
    ),
    column(
      'handlers',
      'jsonb',
      'Handlers the type has (create, read, update, delete, list), each with the IAM permissions it needs; a missing one refuses its statements.',
    ),
    column('read_only_properties', 'text[]', 'Properties the service sets; INSERT and UPDATE cannot.'),
    column('write_only_properties', 'text[]', 'Properties a read never returns (their columns read NULL).'),
    column('create_only_properties', 'text[]', 'Properties set on create that an UPDATE cannot change.'),
    column('description', 'text', "The registry schema's description of the type."),
  ],
  methods: [],
};

/** The table's rows: one per resource type of the catalog, keyed by column name. */
export function resourceTypeRow(type: ResourceType): Record<string, unknown> {
  const def = type.definition;
  const [resource, collection] = [
    type.tables.find((t) => t.kind === 'resource')!,
    type.tables.find((t) => t.kind === 'collection')!,
  ];
  return {
    type_name: def.typeName,
    schema: def.service,
    resource_table: resource.name,
    collection_table: collection.name,
    primary_identifier: def.primaryIdentifier,
    handlers: Object.fromEntries(
      Object.entries(def.permissions).map(([handler, permissions]) => [handler, { permissions }]),
    ),
    read_only_properties: def.readOnlyProperties,
    write_only_properties: def.writeOnlyProperties,
    create_only_properties: def.createOnlyProperties,
    description: def.description,
  };
}
