/**
 * cloud_control.resources (catalog/cloud-control/resources.ts): resources of any type, named by the
 * statement's type_name. For each type it is seen as an AnyTypeView, a ResourceTable of that type with the
 * generic columns, so the fetcher's Get/List, the cache, the error mapping and the write path of typed tables
 * serve it unchanged. A type the catalog lacks gets a bare resource type: no properties, no permissions.
 */
import type {
  Catalog,
  Handler,
  Method,
  RequestsTable,
  ResourceDefinition,
  ResourceTable,
  ResourceType,
  Table,
} from '../../catalog/types.js';
import { PgError, SqlState } from '../errors.js';
import type { Description, Row } from './rows.js';

/** cloud_control.resources as the table of one resource type. */
export interface AnyTypeView extends ResourceTable {
  /** The generic table itself. */
  anyType: RequestsTable;
  /** Where the view found the type's definition, for views of other types. */
  catalog: Catalog | undefined;
  /** The catalog has no definition of the type: nothing is known of its write-only properties. */
  bare: boolean;
}

/**
 * A table whose rows are resources of any type: a requests-kind table that declares Cloud Control's resource
 * methods. Not a type guard: the requests kind holds cloud_control.resource_requests too.
 */
export function servesAnyType(table: Table): boolean {
  return table.kind === 'requests' && table.methods.some((m) => m.operation === 'ListResources');
}

export function isAnyTypeView(table: Table): table is AnyTypeView {
  return 'anyType' in table;
}

const handlerOf: Partial<Record<Method['operation'], Handler>> = {
  ListResources: 'list',
  GetResource: 'read',
  CreateResource: 'create',
  UpdateResource: 'update',
  DeleteResource: 'delete',
};

/** The generic table as the table of `typeName` (''  when the statement's rows have not said yet). */
export function anyTypeView(
  table: RequestsTable,
  typeName: string,
  catalog: Catalog | undefined,
): AnyTypeView {
  const known = typeName === '' ? undefined : catalog?.resourceType(typeName);
  const resource = known ?? bareResourceType(typeName);
  const permissions = resource.definition.permissions;
  return {
    schema: table.schema,
    name: table.name,
    kind: 'collection',
    description: table.description,
    columns: table.columns,
    // The type's IAM permissions, for AccessDenied hints.
    methods: table.methods.map((m) => {
      const handler = handlerOf[m.operation];
      return { ...m, permissions: handler ? (permissions[handler] ?? []) : [] };
    }),
    resource,
    anyType: table,
    catalog,
    bare: known === undefined,
  };
}

function bareResourceType(typeName: string): ResourceType {
  const definition: ResourceDefinition = {
    typeName,
    service: 'cloud_control',
    description: '',
    schema: { type: 'object', properties: {} },
    propertyOrder: [],
    primaryIdentifier: [],
    readOnlyProperties: [],
    writeOnlyProperties: [],
    secretProperties: [],
    createOnlyProperties: [],
    permissions: { create: [], read: [], update: [], delete: [], list: [] },
    tables: { resource: 'resources', collection: 'resources' },
  };
  return {
    definition,
    typeName,
    properties: [],
    propertyByName: () => undefined,
    propertyByColumn: () => undefined,
    tables: [],
  };
}

// Cloud Control's TypeName pattern.
const typeNamePattern = /^[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}$/;

/** A type name Cloud Control would refuse is the user's mistake: say so before any call. */
export function checkTypeName(typeName: string): void {
  if (typeNamePattern.test(typeName)) return;
  throw new PgError(
    SqlState.invalid_parameter_value,
    `invalid resource type name "${typeName.slice(0, 200)}"`,
    { hint: "A type name has three parts, e.g. 'AWS::S3::Bucket' or 'AWS::AppFlow::ConnectorProfile'." },
  );
}

/** A read or write of the generic table whose statement pins no type_name. */
export function missingTypeName(table: Table): PgError {
  const name = `${table.schema}.${table.name}`;
  return new PgError(
    SqlState.invalid_parameter_value,
    `${name} needs the resource type: add WHERE type_name = '...' to the query`,
    {
      hint:
        "For example: WHERE type_name = 'AWS::S3::Bucket', or type_name IN ('AWS::S3::Bucket', 'AWS::IAM::Role'); " +
        "add identifier = '...' to read one resource.",
    },
  );
}

/** One row of the generic table: the model parsed, as the jsonb properties column. */
export function anyTypeRow(typeName: string, region: string, d: Description): Row {
  let properties: unknown = null;
  if (d.Properties !== undefined && d.Properties !== '') {
    try {
      properties = JSON.parse(d.Properties);
    } catch {
      properties = undefined;
    }
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
      throw new PgError(
        SqlState.fdw_error,
        `Cloud Control returned a model that is not a JSON object for ${typeName} "${d.Identifier ?? '?'}"`,
      );
  }
  return { type_name: typeName, region, identifier: d.Identifier ?? null, properties };
}
