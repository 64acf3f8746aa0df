/**
 * The catalog: every resource type of the registry snapshot served as tables, built from its schema. Nothing is
 * read or built at import: the snapshot is read once, on first use, and shared by the server's catalog, the
 * emulator and its CloudFormation registry; `--types` builds only the types it selects.
 */
import { catalogOf, duplicateTable } from './build-catalog.js';
import { resourceRequests } from './cloud-control/resource-requests.js';
import { resourceTypes } from './cloud-control/resource-types.js';
import { resources } from './cloud-control/resources.js';
import { sessions } from './cloud-control/sessions.js';
import { buildResourceType } from './resource-type.js';
import { registryDefinition, registryTablesOf, typeFilter } from './registry/definitions.js';
import { readSnapshot, type RegistrySchema } from './registry/snapshot.js';
import type { Catalog, ResourceTable, ResourceType, Table } from './types.js';

export type * from './types.js';
export { buildCatalog } from './build-catalog.js';
export { buildResourceType, columnTypeOf } from './resource-type.js';
export { catalogDdl } from './ddl.js';
export { primaryIdentifierOf } from './identifier.js';
export { resourceRequests } from './cloud-control/resource-requests.js';
export { resourceTypeRow, resourceTypes } from './cloud-control/resource-types.js';
export { columnToProperty, propertyToColumn } from './naming.js';
export { typeFilter } from './registry/definitions.js';

let snapshot: readonly RegistrySchema[] | undefined;

/** catalog/registry/schemas-us-east-1.json.gz, read (gunzip, JSON parse) once per process. */
export function registrySchemas(): readonly RegistrySchema[] {
  snapshot ??= readSnapshot();
  return snapshot;
}

/** Tables over Cloud Control itself rather than a resource type, declared as they are. */
export const requestsTables: readonly Exclude<Table, ResourceTable>[] = [
  resourceRequests,
  resourceTypes,
  resources,
  sessions,
];

/**
 * A catalog of `schemas` whose types are built on first use, each alone: a table's name leads to its type by the
 * names alone (registryTablesOf), so a statement builds the types it names, and a catalog statement (psql's \dt, a
 * driver's reflection, answered by the engine) none. Building all 1,232 at once took 0.3 to 0.5 s of the main
 * thread while the engines open, on the cores they open on: the start waited for it. `tables` and `resourceTypes`
 * build every type still unbuilt (the DDL of a template not cached yet, cloud_control.resource_types).
 */
export function lazyCatalog(
  schemas: () => readonly RegistrySchema[],
  extraTables: readonly Exclude<Table, ResourceTable>[] = requestsTables,
): Catalog {
  let built: Catalog | undefined;
  let schemaByType: Map<string, RegistrySchema> | undefined;
  const types = new Map<string, ResourceType | undefined>();
  const typeOf = (typeName: string): ResourceType | undefined => {
    if (!types.has(typeName)) {
      schemaByType ??= new Map(schemas().map((s) => [s.typeName, s]));
      const schema = schemaByType.get(typeName);
      types.set(typeName, schema && buildResourceType(registryDefinition(schema)));
    }
    return types.get(typeName);
  };
  /** By `schema.name`: the type the table belongs to (by name), or the extra table itself; and the keys by name. */
  let index: { byKey: Map<string, string | Table>; keysNamed: Map<string, string[]> } | undefined;
  const tableIndex = () => {
    if (index) return index;
    const byKey = new Map<string, string | Table>();
    const keysNamed = new Map<string, string[]>();
    const add = (schema: string, name: string, to: string | Table) => {
      const key = `${schema}.${name}`;
      if (byKey.has(key)) throw duplicateTable(key);
      byKey.set(key, to);
      keysNamed.set(name, [...(keysNamed.get(name) ?? []), key]);
    };
    for (const { typeName } of schemas()) {
      const { schema, resource, collection } = registryTablesOf(typeName);
      add(schema, resource, typeName);
      add(schema, collection, typeName);
    }
    for (const table of extraTables) add(table.schema, table.name, table);
    return (index = { byKey, keysNamed });
  };
  const table = (key: string): Table | undefined => {
    const to = tableIndex().byKey.get(key);
    if (typeof to !== 'string') return to;
    return typeOf(to)?.tables.find((t) => `${t.schema}.${t.name}` === key);
  };
  const whole = () =>
    (built ??= catalogOf(
      schemas().map((s) => typeOf(s.typeName)!),
      extraTables,
    ));
  return {
    get resourceTypes() {
      return whole().resourceTypes;
    },
    get tables() {
      return whole().tables;
    },
    table: (schema, name) => (built ? built.table(schema, name) : table(`${schema}.${name}`)),
    tablesNamed: (name) =>
      built ? built.tablesNamed(name) : (tableIndex().keysNamed.get(name) ?? []).map((key) => table(key)!),
    resourceType: (typeName) => (built ? built.resourceType(typeName) : typeOf(typeName)),
  };
}

/** Every type of the snapshot, built on first use. */
export const catalog: Catalog = lazyCatalog(registrySchemas);

/**
 * The catalog of the types `--types` selects (globs such as `AWS::AppFlow::*`; every type when none is given),
 * plus `extra` schemas (`--extra-types`: private and third-party types, read at start with DescribeType). A glob
 * that selects nothing is an error: a typo would otherwise serve no tables without saying so.
 */
export function selectCatalog(globs: readonly string[], extra: readonly RegistrySchema[] = []): Catalog {
  if (globs.length === 0 && extra.length === 0) return catalog;
  const schemas = registrySchemas();
  for (const glob of globs) {
    const one = typeFilter([glob]);
    if (!schemas.some((s) => one(s.typeName)))
      throw new Error(`--types ${glob}: no resource type of the registry snapshot matches it`);
  }
  const selected = typeFilter(globs);
  const shipped = globs.length === 0 ? schemas : schemas.filter((s) => selected(s.typeName));
  const names = new Set(shipped.map((s) => s.typeName));
  for (const s of extra) {
    if (names.has(s.typeName))
      throw new Error(
        `--extra-types ${s.typeName}: the registry snapshot has it already; leave it out of --extra-types`,
      );
  }
  const selection = [...shipped, ...extra];
  const served = lazyCatalog(() => selection);
  // Built now: a private type's schema that cannot be served stops the start, rather than its first statement.
  for (const s of extra) served.resourceType(s.typeName);
  return served;
}
