/**
 * Resource definitions from the CloudFormation registry snapshot shipped beside this file:
 * `schemas-us-east-1.json.gz` (every type's registry schema, as DescribeType returns it) and
 * `stackql-table-names.tsv` (the schema and table names StackQL users type today). A resource type is a schema
 * in the snapshot: no code names one.
 *
 * Naming rules (README "Tables"):
 * - the Postgres schema is the service, the middle part of the type name in lower case (`AWS::S3::Bucket` -> `s3`);
 * - the table names are StackQL's when the TSV has the type; otherwise the singular is the snake case of the
 *   type name's last part (`EventBusPolicy` -> `event_bus_policy`) and the plural is `pluralize(singular)`;
 * - when the plural equals the singular (22 types, e.g. `workspacesweb.network_settings`), the collection
 *   table is the singular with `_list` appended (`workspacesweb.network_settings_list`): the resource table
 *   keeps the name StackQL users type, since it is the one a get or update by identifier names.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { propertyToColumn } from '../naming.js';
import type { JsonSchema, ResourceDefinition } from '../types.js';
import type { RegistrySchema } from './snapshot.js';

export type { RegistrySchema } from './snapshot.js';
export const snapshotFile = 'schemas-us-east-1.json.gz';
export const tableNamesFile = 'stackql-table-names.tsv';

const listHandlersFile = 'list-handlers.json';

export interface TableNames {
  schema: string;
  plural: string;
  singular: string;
}

/**
 * The directory holding the snapshot: `catalog/registry` of the project, found from this module whether it runs
 * from the sources (tests) or from `dist/catalog/registry` (the build).
 */
export function registryDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'catalog', 'registry');
    if (existsSync(path.join(candidate, snapshotFile))) return candidate;
    if (existsSync(path.join(dir, snapshotFile))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find catalog/registry/${snapshotFile} above ${fileURLToPath(import.meta.url)}`);
}

export function readTableNames(dir = registryDir()): Map<string, TableNames> {
  const names = new Map<string, TableNames>();
  const lines = readFileSync(path.join(dir, tableNamesFile), 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const [typeName, schema, plural, singular] = line.trim().split('\t');
    if (typeName && schema && plural && singular) names.set(typeName, { schema, plural, singular });
  }
  return names;
}

/** `policy` -> `policies`, `analysis` -> `analyses`, `alias` -> `aliases`, `bucket` -> `buckets`. */
export function pluralize(singular: string): string {
  if (/is$/.test(singular)) return `${singular.slice(0, -2)}es`;
  if (/(s|x|z|ch|sh)$/.test(singular)) return `${singular}es`;
  if (/[^aeiou]y$/.test(singular)) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/** The service part of a type name as a Postgres schema: `AWS::S3::Bucket` -> `s3`. */
export function serviceOf(typeName: string): string {
  return (typeName.split('::')[1] ?? typeName).toLowerCase();
}

/** The resource and collection table names of a type, by the rules above. */
export function tablesOf(
  typeName: string,
  stackql: TableNames | undefined,
): { schema: string; resource: string; collection: string } {
  const singular = stackql?.singular ?? propertyToColumn(typeName.split('::').pop() ?? typeName);
  const plural = stackql?.plural ?? pluralize(singular);
  return {
    schema: stackql?.schema ?? serviceOf(typeName),
    resource: singular,
    collection: plural === singular ? `${singular}_list` : plural,
  };
}

/** `/properties/Name` -> `Name`; nested pointers (`/properties/A/B`) name no column and are left out. */
function topLevel(pointers: string[] | undefined): string[] {
  const out: string[] = [];
  for (const pointer of pointers ?? []) {
    const m = /^\/properties\/([^/]+)$/.exec(pointer);
    if (m) out.push(m[1]!);
  }
  return out;
}

/**
 * The schema models are validated with (the emulator, when it first needs a type's validator: closing every
 * type's definitions at start cost about 0.5 s): an object that names its properties and says nothing of others is
 * closed: the live service rejects
 * `extraneous key [X] is not permitted` inside ConnectorProfileConfig too, though its registry schema (like 119
 * other definitions of the snapshot) leaves `additionalProperties` out there.
 */
export function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // Under `properties` and `definitions` the keys are names, not keywords.
    out[key] =
      (key === 'properties' || key === 'definitions' || key === 'patternProperties') &&
      typeof value === 'object' &&
      value !== null
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closed(v)]))
        : closed(value);
  }
  if (
    out.type === 'object' &&
    typeof out.properties === 'object' &&
    out.additionalProperties === undefined &&
    out.patternProperties === undefined
  )
    out.additionalProperties = false;
  return out;
}

/** The JSON Schema the emulator validates models with: the registry schema without its registry-only keys. */
function modelSchema(s: RegistrySchema): JsonSchema {
  return {
    type: 'object',
    properties: s.properties ?? {},
    ...(s.definitions ? { definitions: s.definitions } : {}),
    ...(s.required ? { required: s.required } : {}),
    // The registry requires additionalProperties: false on every resource schema; the service enforces it.
    additionalProperties: s.additionalProperties ?? false,
  };
}

export function definitionFromSchema(s: RegistrySchema, stackql?: TableNames): ResourceDefinition {
  const tables = tablesOf(s.typeName, stackql);
  const properties = Object.keys(s.properties ?? {});
  const permissions: ResourceDefinition['permissions'] = {};
  for (const handler of ['create', 'read', 'update', 'delete', 'list'] as const) {
    const h = s.handlers?.[handler];
    if (h !== undefined) permissions[handler] = h.permissions ?? [];
  }
  return {
    typeName: s.typeName,
    service: tables.schema,
    description: s.description ?? s.typeName,
    schema: modelSchema(s),
    propertyOrder: properties,
    primaryIdentifier: topLevel(s.primaryIdentifier),
    readOnlyProperties: topLevel(s.readOnlyProperties),
    writeOnlyProperties: topLevel(s.writeOnlyProperties),
    secretProperties: [...new Set((s.writeOnlyProperties ?? []).map((p) => p.split('/')[2]!))],
    createOnlyProperties: topLevel(s.createOnlyProperties),
    permissions,
    tables: { resource: tables.resource, collection: tables.collection },
  };
}

let names: Map<string, TableNames> | undefined;
let lists: ListHandlers | undefined;

/**
 * A registry schema's definition with what the project knows beside the schema: StackQL's table names
 * (stackql-table-names.tsv) and what its list handler needs and returns (list-handlers.json), both read once.
 */
export function registryDefinition(s: RegistrySchema): ResourceDefinition {
  names ??= readTableNames();
  lists ??= readListHandlers();
  const def = definitionFromSchema(s, names.get(s.typeName));
  const requires = lists.requiredInResourceModel[s.typeName];
  if (requires !== undefined) def.listRequires = requires.filter((p) => def.propertyOrder.includes(p));
  if (lists.wholeModel.includes(s.typeName)) def.listsWholeModel = true;
  return def;
}

/** The schema and table names registryDefinition gives a type, from its name alone (no schema read). */
export function registryTablesOf(typeName: string): { schema: string; resource: string; collection: string } {
  names ??= readTableNames();
  return tablesOf(typeName, names.get(typeName));
}

export interface ListHandlers {
  requiredInResourceModel: Record<string, string[]>;
  wholeModel: string[];
}

/** catalog/registry/list-handlers.json: what live list handlers need and return, beyond the schemas. */
export function readListHandlers(dir = registryDir()): ListHandlers {
  const file = path.join(dir, listHandlersFile);
  if (!existsSync(file)) return { requiredInResourceModel: {}, wholeModel: [] };
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ListHandlers>;
  return {
    requiredInResourceModel: parsed.requiredInResourceModel ?? {},
    wholeModel: parsed.wholeModel ?? [],
  };
}

/**
 * `--types`: globs over type names, `*` matching any run of characters (`AWS::AppFlow::*`), case-sensitive as
 * type names are. An empty list selects every type.
 */
export function typeFilter(globs: readonly string[]): (typeName: string) => boolean {
  if (globs.length === 0) return () => true;
  const patterns = globs.map(
    (g) =>
      new RegExp(
        `^${g
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ),
  );
  return (typeName) => patterns.some((p) => p.test(typeName));
}
