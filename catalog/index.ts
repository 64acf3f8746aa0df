/** The catalog: every resource type of the registry snapshot served as tables, built from its schema. */
import { buildCatalog } from './build-catalog.js';
import { resourceRequests } from './cloud-control/resource-requests.js';
import { resourceTypes } from './cloud-control/resource-types.js';
import { resources } from './cloud-control/resources.js';
import { sessions } from './cloud-control/sessions.js';
import { registryDefinitions, typeFilter } from './registry/definitions.js';
import type { Catalog, ResourceDefinition, ResourceTable, Table } from './types.js';

export type * from './types.js';
export { buildCatalog } from './build-catalog.js';
export { buildResourceType, columnTypeOf } from './resource-type.js';
export { catalogDdl } from './ddl.js';
export { primaryIdentifierOf } from './identifier.js';
export { resourceRequests } from './cloud-control/resource-requests.js';
export { resourceTypeRow, resourceTypes } from './cloud-control/resource-types.js';
export { columnToProperty, propertyToColumn } from './naming.js';
export { typeFilter } from './registry/definitions.js';

/** Every resource type of catalog/registry/schemas-us-east-1.json.gz: adding a type is adding its schema there. */
export const definitions: readonly ResourceDefinition[] = registryDefinitions();

/** Tables over Cloud Control itself rather than a resource type, declared as they are. */
export const requestsTables: readonly Exclude<Table, ResourceTable>[] = [
  resourceRequests,
  resourceTypes,
  resources,
  sessions,
];

/** Every type of the snapshot. */
export const catalog: Catalog = buildCatalog(definitions, requestsTables);

/**
 * The catalog of the types `--types` selects (globs such as `AWS::AppFlow::*`); every type when none is given.
 * A glob that selects nothing is an error: a typo would otherwise serve no tables without saying so.
 */
export function selectCatalog(globs: readonly string[]): Catalog {
  if (globs.length === 0) return catalog;
  for (const glob of globs) {
    const one = typeFilter([glob]);
    if (!definitions.some((d) => one(d.typeName)))
      throw new Error(`--types ${glob}: no resource type of the registry snapshot matches it`);
  }
  const selected = typeFilter(globs);
  return buildCatalog(
    definitions.filter((d) => selected(d.typeName)),
    requestsTables,
  );
}
