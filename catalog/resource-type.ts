import { propertyToColumn } from './naming.js';
import type {
  Column,
  ColumnType,
  Handler,
  JsonSchema,
  Method,
  Property,
  PropertyFlags,
  ResourceDefinition,
  ResourceTable,
  ResourceType,
} from './types.js';

const noFlags: PropertyFlags = {
  identifier: false,
  requiredOnCreate: false,
  readOnly: false,
  writeOnly: false,
  createOnly: false,
};

/** Column type of a property, following a local $ref to the definition that holds its type. */
export function columnTypeOf(propertySchema: JsonSchema, rootSchema: JsonSchema): ColumnType {
  const resolved = resolveRef(propertySchema, rootSchema);
  const declared = resolved.type;
  // A nullable property is written ["string", "null"]; the column shows the non-null type.
  const type = Array.isArray(declared) ? declared.find((t) => t !== 'null') : declared;
  switch (type) {
    case 'string':
      return 'text';
    case 'integer':
      return 'bigint';
    case 'number':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'object':
    case 'array':
      return 'jsonb';
    default:
      // Untyped: an enum of strings is text; anything else may hold any JSON.
      return Array.isArray(resolved.enum) && resolved.enum.every((v) => typeof v === 'string')
        ? 'text'
        : 'jsonb';
  }
}

function resolveRef(schema: JsonSchema, root: JsonSchema, seen = new Set<string>()): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const prefix = '#/definitions/';
  if (!ref.startsWith(prefix) || seen.has(ref)) throw new Error(`cannot resolve $ref ${ref}`);
  const definitions = (root.definitions ?? {}) as Record<string, JsonSchema>;
  const target = definitions[ref.slice(prefix.length)];
  if (target === undefined) throw new Error(`$ref ${ref} names no definition`);
  return resolveRef(target, root, seen.add(ref));
}

function schemaProperties(def: ResourceDefinition): Record<string, JsonSchema> {
  return (def.schema.properties ?? {}) as Record<string, JsonSchema>;
}

function checkPropertyOrder(def: ResourceDefinition): void {
  const inSchema = Object.keys(schemaProperties(def));
  const missing = inSchema.filter((name) => !def.propertyOrder.includes(name));
  const unknown = def.propertyOrder.filter((name) => !inSchema.includes(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      `${def.typeName}: propertyOrder must list each schema property once` +
        ` (missing: ${missing.join(', ') || 'none'}; not in schema: ${unknown.join(', ') || 'none'})`,
    );
  }
}

/** Columns every resource table has besides its properties. */
export const pseudoColumnNames = [
  'region',
  'data__identifier',
  'data__patchdocument',
  'account_id',
  'account_name',
];

/**
 * A property's column: its snake_case name, with `_property` appended when that is a pseudo-column's name
 * (AWS::SNS::Subscription's `Region`, the topic's region, becomes `region_property`).
 */
export function columnOf(property: string): string {
  const column = propertyToColumn(property);
  return pseudoColumnNames.includes(column) ? `${column}_property` : column;
}

function buildProperty(def: ResourceDefinition, name: string): Property {
  const propertySchema = schemaProperties(def)[name];
  const required = (def.schema.required ?? []) as string[];
  const description =
    def.descriptions?.[name] ??
    (propertySchema.description as string | undefined) ??
    (resolveRef(propertySchema, def.schema).description as string | undefined) ??
    '';
  return {
    name,
    column: columnOf(name),
    type: columnTypeOf(propertySchema, def.schema),
    description,
    flags: {
      identifier: def.primaryIdentifier.includes(name),
      requiredOnCreate: required.includes(name),
      readOnly: def.readOnlyProperties.includes(name),
      writeOnly: def.writeOnlyProperties.includes(name),
      createOnly: def.createOnlyProperties.includes(name),
    },
  };
}

/**
 * region, data__identifier and data__patchdocument: parameters of the Cloud Control calls, shown as columns;
 * account_id and account_name: the configured account a row was read from (or is written to).
 */
function pseudoColumns(def: ResourceDefinition): Column[] {
  // Cloud Control joins a compound primary identifier's values with '|'.
  const identifier = def.primaryIdentifier.join('|');
  return [
    { name: 'region', type: 'text', description: 'AWS region.', key: true, flags: noFlags },
    {
      name: 'data__identifier',
      type: 'text',
      description:
        `The resource's primary identifier (${identifier}) as Cloud Control reports it;` +
        ' with region, it selects one resource.',
      key: true,
      flags: { ...noFlags, identifier: true },
    },
    {
      name: 'data__patchdocument',
      type: 'text',
      description:
        'An RFC 6902 JSON Patch (a JSON array of operations) that UPDATE ... SET data__PatchDocument = ...' +
        ' sends to the resource as is; always NULL when read.',
      key: false,
      flags: { ...noFlags, writeOnly: true },
    },
    {
      name: 'account_id',
      type: 'text',
      description: 'The 12-digit id of the AWS account the resource is in.',
      key: true,
      flags: noFlags,
    },
    {
      name: 'account_name',
      type: 'text',
      description: "The account's name in the server's configuration file ('default' without one).",
      key: true,
      flags: noFlags,
    },
  ];
}

/**
 * The statements each table serves, from the handlers the type has (as the user's spec lists them): a handler
 * the schema lacks is a method the table lacks, and the session refuses its statement.
 */
function methods(def: ResourceDefinition, kind: ResourceTable['kind']): Method[] {
  const { permissions } = def;
  const out: Method[] = [];
  const add = (handler: Handler, method: Omit<Method, 'permissions'>) => {
    const granted = permissions[handler];
    if (granted !== undefined) out.push({ ...method, permissions: granted });
  };
  const update = (): void =>
    add('update', {
      name: 'update_resource',
      verb: 'UPDATE',
      operation: 'UpdateResource',
      requiredParams: ['data__Identifier', 'data__PatchDocument', 'region'],
    });
  if (kind === 'resource') {
    // The order of the user's spec.
    update();
    add('read', {
      name: 'get_resource',
      verb: 'SELECT',
      operation: 'GetResource',
      requiredParams: ['data__Identifier', 'region'],
    });
    return out;
  }
  add('list', {
    name: 'list_resources',
    verb: 'SELECT',
    operation: 'ListResources',
    requiredParams: ['region'],
  });
  add('create', {
    name: 'create_resource',
    verb: 'INSERT',
    operation: 'CreateResource',
    // Property names as the model writes them: they are the keys of DesiredState.
    requiredParams: [...((def.schema.required ?? []) as string[]), 'region'],
  });
  add('delete', {
    name: 'delete_resource',
    verb: 'DELETE',
    operation: 'DeleteResource',
    requiredParams: ['data__Identifier', 'region'],
  });
  update();
  return out;
}

/** Derives the properties and both tables (single resource and collection) from a definition. */
export function buildResourceType(def: ResourceDefinition): ResourceType {
  checkPropertyOrder(def);
  const properties = def.propertyOrder.map((name) => buildProperty(def, name));
  const compound = def.primaryIdentifier.length > 1;
  const columns: Column[] = [
    ...properties.map((property) => ({
      name: property.column,
      type: property.type,
      description: property.description,
      property,
      // The parts of a compound identifier are keys too: pinning every part pins the identifier. A list
      // handler's required parent is sent as ResourceModel.
      key: (compound && property.flags.identifier) || (def.listRequires ?? []).includes(property.name),
      flags: property.flags,
    })),
    ...pseudoColumns(def),
  ];
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) throw new Error(`${def.typeName}: two columns are named ${column.name}`);
    seen.add(column.name);
  }

  const byName = new Map(properties.map((p) => [p.name, p]));
  // Any case: a client may quote the column in any case it likes.
  const byColumn = new Map(properties.map((p) => [p.column, p]));
  const resourceType: ResourceType = {
    definition: def,
    typeName: def.typeName,
    properties,
    propertyByName: (name) => byName.get(name),
    propertyByColumn: (column) => byColumn.get(column.toLowerCase()),
    tables: [],
  };
  const table = (kind: ResourceTable['kind'], name: string, description: string): ResourceTable => ({
    schema: def.service,
    name,
    kind,
    description,
    resource: resourceType,
    columns,
    methods: methods(def, kind),
  });
  const has = (handler: Handler) => def.permissions[handler] !== undefined;
  const listing = [has('list') && 'Lists', has('create') && 'creates', has('delete') && 'deletes'].filter(
    (w): w is string => typeof w === 'string',
  );
  const getting = [has('read') && 'get', has('update') && 'update'].filter(
    (w): w is string => typeof w === 'string',
  );
  const collectionDescription =
    listing.length === 0
      ? `${def.typeName} has no list, create or delete handler: no statement reads or changes this table`
      : `${capitalize(join(listing, 'and'))} ${def.typeName} resources` +
        (getting.length > 0 ? `; use ${def.tables.resource} to ${join(getting, 'or')} one` : '');
  resourceType.tables.push(
    table('resource', def.tables.resource, def.description),
    table('collection', def.tables.collection, collectionDescription),
  );
  return resourceType;
}

/** `a, b and c`. */
function join(words: string[], last: string): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} ${last} ${words.at(-1)!}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
