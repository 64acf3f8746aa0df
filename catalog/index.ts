/** The catalog: every resource type served as tables, built from its definition. */
import { connectorProfile } from './appflow/connector-profile.js';
import { buildCatalog } from './build-catalog.js';
import { resourceRequests } from './cloud-control/resource-requests.js';
import { resources } from './cloud-control/resources.js';
import type { Catalog, RequestsTable, ResourceDefinition } from './types.js';

export type * from './types.js';
export { buildCatalog } from './build-catalog.js';
export { buildResourceType, columnTypeOf } from './resource-type.js';
export { catalogDdl } from './ddl.js';
export { primaryIdentifierOf } from './identifier.js';
export { resourceRequests } from './cloud-control/resource-requests.js';
export { columnToProperty, propertyToColumn } from './naming.js';

/** Adding a resource type is adding its definition here. */
export const definitions: readonly ResourceDefinition[] = [connectorProfile];

/** Tables over Cloud Control itself rather than a resource type, declared as they are. */
export const requestsTables: readonly RequestsTable[] = [resourceRequests, resources];

export const catalog: Catalog = buildCatalog(definitions, requestsTables);
