/**
 * Catalog columns that PostgreSQL renamed after the versions of the clients people run. The engine is
 * PostgreSQL 18; psql 15 and 16 still ask pg_database for `daticulocale` (renamed `datlocale` in 17), so
 * their `\l` would fail against any PostgreSQL 17 or later. Rewriting the name keeps those clients working.
 */
const renamedColumns: [RegExp, string][] = [[/\bdaticulocale\b/g, 'datlocale']];

export function withRenamedCatalogColumns(sql: string): string {
  let out = sql;
  for (const [from, to] of renamedColumns) if (from.test(out)) out = out.replace(from, to);
  return out;
}
