/**
 * The catalog: every resource type of the registry snapshot served as tables, built from its schema. Nothing is
 * read or built at import: the snapshot is read once, on first use, and shared by the server's catalog, the
 * emulator and its CloudFormation registry; `--types` builds only the types it selects.
 */
import { buildCatalog } from './build-catalog.js';
import { resourceRequests } from './cloud-control/resource-requests.js';
import { resourceTypes } from './cloud-control/resource-types.js';
import { resources } from './cloud-control/resources.js';
import { sessions } from './cloud-control/sessions.js';
import { buildResourceType } from './resource-type.js';
import { registryDefinition, registryDefinitions, typeFilter } from './registry/definitions.js';
import { readSnapshot, type RegistrySchema } from './registry/snapshot.js';
import type { Catalog, ResourceDefinition, ResourceTable, ResourceType, Table } from './types.js';

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

let everyDefinition: readonly ResourceDefinition[] | undefined;

/** Every resource type of the snapshot: adding a type is adding its schema there. */
export function allDefinitions(): readonly ResourceDefinition[] {
  everyDefinition ??= registryDefinitions(registrySchemas());
  return everyDefinition;
}

/** Tables over Cloud Control itself rather than a resource type, declared as they are. */
export const requestsTables: readonly Exclude<Table, ResourceTable>[] = [
  resourceRequests,
  resourceTypes,
  resources,
  sessions,
];

/**
 * A catalog of `schemas` built on first use. Looking up one type by name (all the emulator does) builds that type
 * alone, unless the whole catalog is already built.
 */
export function lazyCatalog(schemas: () => readonly RegistrySchema[]): Catalog {
  let built: Catalog | undefined;
  let byName: Map<string, RegistrySchema> | undefined;
  const types = new Map<string, ResourceType | undefined>();
  const whole = () =>
    (built ??= buildCatalog(
      schemas === registrySchemas ? allDefinitions() : registryDefinitions(schemas()),
      requestsTables,
    ));
  return {
    get resourceTypes() {
      return whole().resourceTypes;
    },
    get tables() {
      return whole().tables;
    },
    table: (schema, name) => whole().table(schema, name),
    resourceType(typeName) {
      if (built) return built.resourceType(typeName);
      if (!types.has(typeName)) {
        byName ??= new Map(schemas().map((s) => [s.typeName, s]));
        const schema = byName.get(typeName);
        types.set(typeName, schema && buildResourceType(registryDefinition(schema)));
      }
      return types.get(typeName);
    },
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
  const shipped =
    globs.length === 0 ? allDefinitions() : registryDefinitions(schemas.filter((s) => selected(s.typeName)));
  const names = new Set(shipped.map((d) => d.typeName));
  for (const s of extra) {
    if (names.has(s.typeName))
      throw new Error(
        `--extra-types ${s.typeName}: the registry snapshot has it already; leave it out of --extra-types`,
      );
  }
  return buildCatalog([...shipped, ...registryDefinitions(extra)], requestsTables);
}
