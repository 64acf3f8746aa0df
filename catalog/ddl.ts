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
  if (schemas.has('cloud_control')) statements.push(refreshAccountsDdl);
  return statements.join('\n') + '\n';
}

/**
 * cloud_control.refresh_accounts(): the bridge lists the organization again before a statement that calls it runs
 * (server/session/refresh-accounts.ts) and sets what changed, as JSON, in aws.refreshed_accounts for that
 * statement; the function returns it. Anywhere else (no bridge before it) it returns no row.
 */
const refreshAccountsDdl = `CREATE FUNCTION cloud_control.refresh_accounts()
  RETURNS TABLE (change text, account_name text, account_id text) LANGUAGE sql VOLATILE AS $f$
  SELECT r.change, r.account_name, r.account_id
    FROM pg_catalog.jsonb_to_recordset(
           coalesce(nullif(pg_catalog.current_setting('aws.refreshed_accounts', true), ''), '[]')::jsonb
         ) AS r(change text, account_name text, account_id text)
$f$;
COMMENT ON FUNCTION cloud_control.refresh_accounts() IS ${literal(
  'Lists the AWS Organization again (organization: in the configuration file): members that joined are read from the next statement on, members that left or are no longer ACTIVE are not. Returns one row per account added or removed (the bridge does it before the statement runs).',
)};`;
