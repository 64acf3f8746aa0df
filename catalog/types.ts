/**
 * A resource type is declared as data; one generic engine serves every table built from it.
 * Adding a resource type means adding a ResourceDefinition, never new code in server/ or emulator/.
 */

export type JsonSchema = { [key: string]: unknown };

/** PostgreSQL type of a column: from the property's JSON type, or declared (timestamptz: a request's times). */
export type ColumnType = 'text' | 'jsonb' | 'bigint' | 'numeric' | 'boolean' | 'timestamptz' | 'text[]';

export type Handler = 'create' | 'read' | 'update' | 'delete' | 'list';

export interface PropertyFlags {
  /** Part of the resource type's primaryIdentifier. */
  identifier: boolean;
  /** Listed in the schema's `required`: CreateResource needs it. */
  requiredOnCreate: boolean;
  readOnly: boolean;
  writeOnly: boolean;
  createOnly: boolean;
}

/** One top-level property of the resource model and the column that shows it. */
export interface Property {
  /** Property name in the Cloud Control model, e.g. `KMSArn`. */
  name: string;
  /** Column name, e.g. `kms_arn`. */
  column: string;
  type: ColumnType;
  description: string;
  flags: PropertyFlags;
}

/**
 * A resource type's facts, taken from its CloudFormation registry schema (catalog/registry/): built at start
 * from the snapshot by catalog/registry/definitions.ts, never written by hand.
 */
export interface ResourceDefinition {
  typeName: string;
  /** Postgres schema the tables live in, e.g. `appflow`. */
  service: string;
  description: string;
  /** JSON Schema (draft-07) of the whole model, used to validate DesiredState and patched models. */
  schema: JsonSchema;
  /** Property names in column order (the user's spec order). */
  propertyOrder: string[];
  /** Column descriptions where the user's spec words them differently from the schema. */
  descriptions?: Record<string, string>;
  primaryIdentifier: string[];
  readOnlyProperties: string[];
  writeOnlyProperties: string[];
  /**
   * Top-level properties whose values, or a part of them (`/properties/LoginProfile/Password`), are write-only:
   * whatever the bridge shows of a write it sends (EXPLAIN, an AWS error echoing a value) masks them.
   */
  secretProperties: string[];
  createOnlyProperties: string[];
  /** IAM permissions of each handler the type has; a handler that is absent makes its statements refused. */
  permissions: Partial<Record<Handler, string[]>>;
  /** Table names: the single-resource table (get, update) and the collection table (list, create, delete). */
  tables: { resource: string; collection: string };
  /**
   * Properties the list handler must be given in ResourceModel (a parent, e.g. an EKS nodegroup's ClusterName);
   * from catalog/registry/list-handlers.json. Their columns are keys, and a list without them pinned is refused.
   */
  listRequires?: string[];
  /** ListResources returns the whole read model (list-handlers.json `wholeModel`): no GetResource to fill a row. */
  listsWholeModel?: boolean;
}

export interface Column {
  name: string;
  type: ColumnType;
  description: string;
  /** Absent for the pseudo-columns region, data__identifier and data__patchdocument, and on a requests table. */
  property?: Property;
  /**
   * A key the planner pushes down to Cloud Control: region and data__identifier of a resource table;
   * region, operation and operation_status of the requests table.
   */
  key: boolean;
  flags: PropertyFlags;
}

export type SqlVerb = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

export interface Method {
  /** e.g. `get_resource`. */
  name: string;
  verb: SqlVerb;
  /** Cloud Control operation, e.g. `GetResource`. */
  operation:
    | 'GetResource'
    | 'ListResources'
    | 'CreateResource'
    | 'UpdateResource'
    | 'DeleteResource'
    | 'ListResourceRequests';
  /** As the user's spec writes them, e.g. `data__Identifier, region`. */
  requiredParams: string[];
  /** IAM permissions this method needs (the handler's permissions). */
  permissions: string[];
}

interface TableBase {
  /** Postgres schema, e.g. `appflow`. */
  schema: string;
  /** e.g. `connector_profile`. */
  name: string;
  description: string;
  columns: Column[];
  methods: Method[];
}

/** A table of a resource type: one resource (get, update) or the collection (list, create, delete). */
export interface ResourceTable extends TableBase {
  kind: 'resource' | 'collection';
  resource: ResourceType;
}

/** Cloud Control's resource requests (ListResourceRequests) in a region: read-only, not a resource type. */
export interface RequestsTable extends TableBase {
  kind: 'requests';
}

/** The resource types this server serves (one row each), from the catalog itself: read-only, no AWS call. */
export interface ResourceTypesTable extends TableBase {
  kind: 'resource_types';
}

/** The sessions of this server (cloud_control.sessions): from the server itself, read-only, no AWS call. */
export interface SessionsTable extends TableBase {
  kind: 'sessions';
}

/** Every table the catalog serves; narrow on `kind` before using what only resource tables have. */
export type Table = ResourceTable | RequestsTable | ResourceTypesTable | SessionsTable;

/** A ResourceDefinition with everything derived from it. */
export interface ResourceType {
  definition: ResourceDefinition;
  typeName: string;
  properties: Property[];
  /** Looks up a property by its Cloud Control name or by its column name. */
  propertyByName(name: string): Property | undefined;
  propertyByColumn(column: string): Property | undefined;
  tables: ResourceTable[];
}

export interface Catalog {
  resourceTypes: ResourceType[];
  tables: Table[];
  resourceType(typeName: string): ResourceType | undefined;
  /** Case-sensitive lookup of `schema.name` as Postgres folds unquoted names (lower case). */
  table(schema: string, name: string): Table | undefined;
  /** The tables of that name in every schema (an unqualified name, for search_path to choose among), in order. */
  tablesNamed(name: string): Table[];
}
