import type { Catalog } from './types.js';

/** Always quoted: a column may be named like a reserved word (`user`, `order`); \d shows it unquoted anyway. */
function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * SQL that creates the catalog's schemas and tables, with their comments, in an empty database.
 * Plain tables without constraints: the engine loads fetched rows into them, and a read lacks the
 * write-only properties, so NOT NULL or keys would reject real rows.
 */
export function catalogDdl(catalog: Catalog): string {
  const statements: string[] = [];
  const schemas = new Map<string, Set<string>>();
  for (const table of catalog.tables) {
    const typeNames = schemas.get(table.schema) ?? new Set<string>();
    if (table.kind === 'resource' || table.kind === 'collection') typeNames.add(table.resource.typeName);
    schemas.set(table.schema, typeNames);
  }
  for (const [schema, typeNames] of schemas) {
    statements.push(`CREATE SCHEMA ${identifier(schema)};`);
    // A schema without resource types holds Cloud Control's own tables (cloud_control.resource_requests).
    const comment =
      typeNames.size > 0
        ? `AWS resource types: ${[...typeNames].join(', ')}`
        : 'AWS Cloud Control API requests and the resource types served';
    statements.push(`COMMENT ON SCHEMA ${identifier(schema)} IS ${literal(comment)};`);
  }
  for (const table of catalog.tables) {
    const name = `${identifier(table.schema)}.${identifier(table.name)}`;
    const columns = table.columns.map((c) => `  ${identifier(c.name)} ${c.type}`).join(',\n');
    statements.push(`CREATE TABLE ${name} (\n${columns}\n);`);
    statements.push(`COMMENT ON TABLE ${name} IS ${literal(table.description)};`);
    for (const column of table.columns) {
      statements.push(
        `COMMENT ON COLUMN ${name}.${identifier(column.name)} IS ${literal(column.description)};`,
      );
    }
  }
  return statements.join('\n') + '\n';
}
