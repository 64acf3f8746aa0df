import type { Table } from '../../catalog/types.js';
import { as, isObject, list, names, type Body } from './ast.js';

/** The columns of a table a statement may read: a set of column names, or every column. */
export type NeededColumns = 'all' | ReadonlySet<string>;

/** Statements whose engine run touches whole rows of the tables they name (the write path, COPY). */
const wholeRowStatements = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'CopyStmt']);

interface Found {
  all: boolean;
  /** The last name part of every ColumnRef, and USING names. */
  referenced: Set<string>;
  /** Names a reference may bind to that are not a catalog table's: output aliases, CTE and alias column names. */
  outputs: Set<string>;
  /** Names that may stand for a whole row: relation names and aliases of FROM items. */
  relations: Set<string>;
}

/**
 * For each of `tables`, the columns the statement may read from it, by walking the whole AST: every column
 * reference anywhere counts for every table that has a column of that name (a superset, never less). `*`,
 * `t.*`, a whole-row reference (`to_jsonb(t)`), a NATURAL join, a write or COPY, or a name that is no table's
 * column and no output alias makes it every column: fetching more is slower, fetching less is wrong.
 */
export function neededColumns(ast: unknown, tables: readonly Table[]): Map<Table, NeededColumns> {
  const found: Found = { all: false, referenced: new Set(), outputs: new Set(), relations: new Set() };
  walk(ast, found);
  const known = new Set(tables.flatMap((t) => t.columns.map((c) => c.name)));
  for (const name of found.referenced) {
    if (known.has(name)) continue;
    if (found.outputs.has(name) && !found.relations.has(name)) continue;
    found.all = true;
  }
  const out = new Map<Table, NeededColumns>();
  for (const table of tables) {
    if (found.all) {
      out.set(table, 'all');
      continue;
    }
    const columns = new Set(table.columns.map((c) => c.name).filter((n) => found.referenced.has(n)));
    out.set(table, columns);
  }
  return out;
}

function walk(node: unknown, found: Found): void {
  if (found.all) return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, found);
    return;
  }
  if (!isObject(node)) return;
  for (const [type, value] of Object.entries(node)) {
    if (!isObject(value)) {
      if (typeof value === 'object') walk(value, found);
      continue;
    }
    // Aliases are bare bodies under `alias` (RangeVar, RangeSubselect, JoinExpr) and `join_using_alias`.
    visit(type === 'alias' || type === 'join_using_alias' ? 'Alias' : type, value, found);
    walk(value, found);
  }
}

function visit(type: string, body: Body, found: Found): void {
  if (wholeRowStatements.has(type)) {
    found.all = true;
    return;
  }
  switch (type) {
    case 'A_Star':
      found.all = true;
      return;
    case 'ColumnRef': {
      const parts = list(body.fields);
      const last = parts[parts.length - 1];
      if (as(last, 'A_Star')) {
        found.all = true;
        return;
      }
      const name = names([last])[0];
      if (name === undefined) found.all = true;
      else found.referenced.add(name);
      return;
    }
    case 'ResTarget':
      if (typeof body.name === 'string') found.outputs.add(body.name);
      return;
    case 'JoinExpr':
      if (body.isNatural) found.all = true;
      for (const n of names(body.usingClause)) if (n !== undefined) found.referenced.add(n);
      return;
    case 'CommonTableExpr':
      if (typeof body.ctename === 'string') found.relations.add(body.ctename);
      for (const n of names(body.aliascolnames)) if (n !== undefined) found.outputs.add(n);
      return;
    case 'RangeVar':
      if (typeof body.relname === 'string') found.relations.add(body.relname);
      return;
    case 'Alias':
      if (typeof body.aliasname === 'string') found.relations.add(body.aliasname);
      for (const n of names(body.colnames)) if (n !== undefined) found.outputs.add(n);
      return;
    case 'ColumnDef':
      if (typeof body.colname === 'string') found.outputs.add(body.colname);
      return;
  }
}
