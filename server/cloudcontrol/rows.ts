import type { Column, ResourceTable } from '../../catalog/types.js';
import { PgError, SqlState } from '../errors.js';
import type { NeededColumns } from '../plan/columns.js';

/** A resource as Cloud Control describes it; Properties is a string holding the JSON model. */
export interface Description {
  Identifier?: string;
  Properties?: string;
}

export type Row = Record<string, unknown>;

/**
 * One row keyed by column name. Parsed per call, so callers that shared a cached response never share
 * (and can never mutate) each other's jsonb values.
 */
export function rowFromDescription(table: ResourceTable, region: string, description: Description): Row {
  return rowBuilder(table)(region, description);
}

/**
 * Builds rows with only the columns a statement may read (the others are left out and load as NULL, which it
 * cannot see); the model is parsed only when one of them is a property: count(*) over 10,000 resources parses
 * none and loads rows of a region alone. Such a row, which no value of the resource's own enters, is one frozen
 * object per region, shared by every resource: no garbage per resource, and the engine loads it as one row
 * repeated (engine/load-rows.ts).
 */
export function rowBuilder(
  table: ResourceTable,
  columns: NeededColumns = 'all',
): (region: string, description: Description) => Row {
  const wanted = columns === 'all' ? table.columns : table.columns.filter((c) => columns.has(c.name));
  const parse = wanted.some((c) => c.property !== undefined);
  const build = (region: string, description: Description) => {
    const model = parse ? parseModel(table, description) : {};
    const row: Row = {};
    for (const column of wanted) row[column.name] = cell(column, model, region, description);
    return row;
  };
  if (parse || wanted.some((c) => c.name === 'data__identifier')) return build;
  const byRegion = new Map<string, Row>();
  return (region, description) => {
    let row = byRegion.get(region);
    if (!row) byRegion.set(region, (row = Object.freeze(build(region, description))));
    return row;
  };
}

function cell(column: Column, model: Record<string, unknown>, region: string, d: Description): unknown {
  const property = column.property;
  if (!property) {
    if (column.name === 'region') return region;
    if (column.name === 'data__identifier') return d.Identifier ?? null;
    return null;
  }
  // Reads never return write-only properties; a value here would be the service breaking its contract.
  if (property.flags.writeOnly) return null;
  const value = model[property.name];
  if (value === undefined || value === null) return null;
  if (column.type === 'text' && typeof value !== 'string') {
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return value;
}

function parseModel(table: ResourceTable, d: Description): Record<string, unknown> {
  if (d.Properties === undefined || d.Properties === '') return {};
  try {
    const parsed: unknown = JSON.parse(d.Properties);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // fall through: reported below without the text, which may hold anything
  }
  throw new PgError(
    SqlState.fdw_error,
    `Cloud Control returned a model that is not a JSON object for ${table.resource.typeName} "${d.Identifier ?? '?'}"`,
  );
}

/** `AWS::AppFlow::ConnectorProfile`, 2 -> `connector profiles`: how notices name the resources. */
export function resourceNoun(typeName: string, count: number): string {
  const last = typeName.split('::').pop() ?? typeName;
  const words = last
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
  if (count === 1) return words;
  if (/[^aeiou]y$/.test(words)) return `${words.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(words)) return `${words}es`;
  return `${words}s`;
}
