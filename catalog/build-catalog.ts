import { buildResourceType } from './resource-type.js';
import type { Catalog, ResourceDefinition } from './types.js';

export function buildCatalog(definitions: readonly ResourceDefinition[]): Catalog {
  const resourceTypes = definitions.map(buildResourceType);
  const tables = resourceTypes.flatMap((type) => type.tables);
  const byName = new Map<string, (typeof tables)[number]>();
  for (const table of tables) {
    const key = `${table.schema}.${table.name}`;
    if (byName.has(key)) throw new Error(`two resource types define the table ${key}`);
    byName.set(key, table);
  }
  return {
    resourceTypes,
    tables,
    resourceType: (typeName) => resourceTypes.find((type) => type.typeName === typeName),
    table: (schema, name) => byName.get(`${schema}.${name}`),
  };
}
