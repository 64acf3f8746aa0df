import { buildResourceType } from './resource-type.js';
import type { Catalog, ResourceDefinition, ResourceTable, ResourceType, Table } from './types.js';

/** The resource types' tables, then `extraTables` (tables declared as they are, e.g. cloud_control.resource_requests). */
export function buildCatalog(
  definitions: readonly ResourceDefinition[],
  extraTables: readonly Exclude<Table, ResourceTable>[] = [],
): Catalog {
  return catalogOf(definitions.map(buildResourceType), extraTables);
}

/** buildCatalog of types already built. */
export function catalogOf(
  resourceTypes: ResourceType[],
  extraTables: readonly Exclude<Table, ResourceTable>[] = [],
): Catalog {
  const tables: Table[] = [...resourceTypes.flatMap((type) => type.tables), ...extraTables];
  const byName = new Map<string, Table>();
  const named = new Map<string, Table[]>();
  for (const table of tables) {
    const key = `${table.schema}.${table.name}`;
    if (byName.has(key)) throw duplicateTable(key);
    byName.set(key, table);
    named.set(table.name, [...(named.get(table.name) ?? []), table]);
  }
  const byType = new Map(resourceTypes.map((type) => [type.typeName, type]));
  return {
    resourceTypes,
    tables,
    resourceType: (typeName) => byType.get(typeName),
    table: (schema, name) => byName.get(`${schema}.${name}`),
    tablesNamed: (name) => named.get(name) ?? [],
  };
}

export const duplicateTable = (key: string) => new Error(`the catalog defines the table ${key} twice`);
