import type { Catalog, Table } from '../../catalog/types.js';
import { parseArrayLiteral } from './array-literal.js';
import { as, isObject, list, names, type Body } from './ast.js';
import type { KeyColumn, KeyExpr, RowsKey } from './keys.js';
import type { ParsedStatement } from './parse.js';
import { pinKeys, type Entry, type TableRead } from './scope.js';

export { KEY_COLUMNS, type KeyColumn, type KeyExpr, type RowsKey } from './keys.js';

/** What each pinned key column of a read is: a list of values (text); absent when not pinned. */
export type ResolvedKeys = Partial<Record<KeyColumn, string[]>>;
export type { TableRead } from './scope.js';

interface Ctx {
  catalog: Catalog;
  /** CTE names visible here: they shadow an unqualified table name. */
  ctes: ReadonlySet<string>;
  reads: TableRead[];
}

/**
 * One TableRead per reference to a catalog table anywhere in the statement (a table referenced twice
 * appears twice; the fetcher unions them), with the keys its own WHERE or inner-join ON pins.
 */
export function tableReads(stmt: ParsedStatement, catalog: Catalog): TableRead[] {
  const ctx: Ctx = { catalog, ctes: new Set(), reads: [] };
  walk(stmt.ast, ctx);
  return ctx.reads;
}

/** Generic descent: statements found anywhere (sublinks, CTEs, EXPLAIN, DECLARE, PREPARE) get their scopes. */
function walk(node: unknown, ctx: Ctx): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, ctx);
    return;
  }
  if (!isObject(node)) return;
  const keys = Object.keys(node);
  if (keys.length === 1 && /^[A-Z]/.test(keys[0]) && isObject(node[keys[0]])) {
    const body = node[keys[0]] as Body;
    switch (keys[0]) {
      case 'SelectStmt':
        return visitSelect(body, ctx);
      case 'InsertStmt':
        return visitInsert(body, ctx);
      case 'UpdateStmt':
        return visitModify(body, body.fromClause, ctx);
      case 'DeleteStmt':
        return visitModify(body, body.usingClause, ctx);
      case 'MergeStmt':
        return visitMerge(body, ctx);
      case 'CopyStmt':
        return visitCopy(body, ctx);
      // A RangeVar outside a FROM position names a relation without reading it (FOR UPDATE OF, INTO).
      case 'RangeVar':
        return;
    }
    return walkFields(body, ctx);
  }
  walkFields(node, ctx);
}

function walkFields(body: Body, ctx: Ctx, skip: readonly string[] = []): void {
  for (const [key, value] of Object.entries(body)) {
    if (!skip.includes(key) && typeof value === 'object') walk(value, ctx);
  }
}

/** Visits the CTE bodies and returns the context the statement itself sees. */
function withCtes(withClause: unknown, ctx: Ctx): Ctx {
  if (!isObject(withClause)) return ctx;
  const ctes = list(withClause.ctes).map((c) => as(c, 'CommonTableExpr') ?? {});
  const all = new Set([...ctx.ctes, ...ctes.map((c) => String(c.ctename ?? ''))]);
  const seen = new Set(ctx.ctes);
  for (const cte of ctes) {
    // A non-recursive WITH sees only the CTEs before it; WITH RECURSIVE sees all of them.
    walk(cte.ctequery, { ...ctx, ctes: withClause.recursive ? all : new Set(seen) });
    seen.add(String(cte.ctename ?? ''));
  }
  return { ...ctx, ctes: all };
}

function visitSelect(sel: Body, outer: Ctx): void {
  const ctx = withCtes(sel.withClause, outer);
  if (sel.op && sel.op !== 'SETOP_NONE') {
    if (isObject(sel.larg)) visitSelect(sel.larg, ctx);
    if (isObject(sel.rarg)) visitSelect(sel.rarg, ctx);
  }
  const entries = fromList(sel.fromClause, ctx);
  pinKeys(sel.whereClause, entries, pinScope(ctx));
  walkFields(sel, ctx, ['withClause', 'larg', 'rarg', 'fromClause', 'intoClause']);
}

/** UPDATE (extra = FROM) and DELETE (extra = USING): the target is read too, and pinned by the WHERE. */
function visitModify(stmt: Body, extra: unknown, outer: Ctx): void {
  const ctx = withCtes(stmt.withClause, outer);
  const target = relationEntry(stmt.relation, ctx, false);
  const entries = [target, ...fromList(extra, ctx)];
  pinKeys(stmt.whereClause, entries, pinScope(ctx));
  walkFields(stmt, ctx, ['withClause', 'relation', 'fromClause', 'usingClause']);
}

function visitInsert(stmt: Body, outer: Ctx): void {
  const ctx = withCtes(stmt.withClause, outer);
  // ON CONFLICT compares against the rows already there.
  if (stmt.onConflictClause) relationEntry(stmt.relation, ctx, false);
  walkFields(stmt, ctx, ['withClause', 'relation']);
}

function visitMerge(stmt: Body, outer: Ctx): void {
  const ctx = withCtes(stmt.withClause, outer);
  // The join condition decides MATCHED versus NOT MATCHED: it must not narrow either side.
  relationEntry(stmt.relation, ctx, false);
  fromItem(stmt.sourceRelation, ctx, []);
  walkFields(stmt, ctx, ['withClause', 'relation', 'sourceRelation']);
}

function visitCopy(stmt: Body, ctx: Ctx): void {
  if (stmt.relation && !stmt.is_from) relationEntry(stmt.relation, ctx, false);
  walkFields(stmt, ctx, ['relation']);
}

function fromList(items: unknown, ctx: Ctx): Entry[] {
  const entries: Entry[] = [];
  for (const item of list(items)) fromItem(item, ctx, entries);
  return entries;
}

/** Adds the entries of one FROM item; joins apply their inner ON to what is under them. */
function fromItem(node: unknown, ctx: Ctx, entries: Entry[]): void {
  const rv = as(node, 'RangeVar');
  if (rv) {
    entries.push(relationEntry(rv, ctx, true));
    return;
  }
  const join = as(node, 'JoinExpr');
  if (join) {
    const left: Entry[] = [];
    const right: Entry[] = [];
    fromItem(join.larg, ctx, left);
    fromItem(join.rarg, ctx, right);
    const under = [...left, ...right];
    // ON narrows the side(s) whose rows appear only when it matches; an outer join keeps the other side's rows.
    const narrowed: Record<string, Entry[]> = { JOIN_INNER: under, JOIN_LEFT: right, JOIN_RIGHT: left };
    const pinnable = narrowed[String(join.jointype)];
    if (pinnable && !join.isNatural && list(join.usingClause).length === 0)
      pinKeys(join.quals, under, { ...pinScope(ctx), pinnable });
    walk(join.quals, ctx);
    mergeColumns(join, left, right);
    // A join alias hides the names under it; its columns are still reachable unqualified.
    if (join.alias || join.join_using_alias)
      for (const e of under) Object.assign(e, { hidden: true, opaque: true });
    entries.push(...under);
    return;
  }
  const sample = as(node, 'RangeTableSample');
  if (sample) {
    // Sampling picks from the rows fetched; narrowing the fetch would change the sample.
    const rel = as(sample.relation, 'RangeVar');
    if (rel) entries.push({ ...relationEntry(rel, ctx, true), opaque: true, reads: [] });
    walkFields(sample, ctx, ['relation']);
    return;
  }
  // Subqueries, functions, XMLTABLE, JSON_TABLE: read what is inside, expose unknown columns.
  walk(node, ctx);
  const inner = isObject(node) ? Object.values(node)[0] : undefined;
  const alias = isObject(inner) && isObject(inner.alias) ? inner.alias.aliasname : undefined;
  entries.push({ exposed: String(alias ?? ''), aliased: true, reads: [], opaque: true, hidden: false });
}

/** Records the columns a USING or NATURAL join merges, for the unqualified references above it. */
function mergeColumns(join: Body, left: Entry[], right: Entry[]): void {
  const under = [...left, ...right];
  if (under.some((e) => e.opaque || e.reads.length !== 1)) return;
  const has = (entries: Entry[], column: string) => entries.some((e) => hasColumn(e, column));
  const columns = join.isNatural
    ? [...new Set(left.flatMap((e) => e.reads[0]!.table.columns.map((c) => c.name)))].filter((c) =>
        has(right, c),
      )
    : names(join.usingClause).filter((c) => c !== undefined);
  for (const column of columns) {
    const group = under.filter((e) => hasColumn(e, column));
    for (const e of group) e.merged = new Map(e.merged).set(column, group);
  }
}

function hasColumn(entry: Entry, column: string): boolean {
  return entry.reads[0]!.table.columns.some((c) => c.name === column);
}

function pinScope(ctx: Ctx) {
  return { resolve: (rv: Body) => resolveRelation(rv, ctx.catalog, ctx.ctes) };
}

/** Resolves a RangeVar (a bare body) and records a read for each catalog table it may be. */
function relationEntry(rel: unknown, ctx: Ctx, cteVisible: boolean): Entry {
  const rv = isObject(rel) ? rel : {};
  const name = String(rv.relname ?? '');
  const schema = typeof rv.schemaname === 'string' ? rv.schemaname : undefined;
  const alias = isObject(rv.alias) ? rv.alias : undefined;
  const tables = resolveRelation(rv, ctx.catalog, cteVisible ? ctx.ctes : undefined);
  const reads = tables.map((table) => ({ table, keys: {} }));
  ctx.reads.push(...reads);
  // Column aliases rename the table's columns: `region` may then be another column.
  const renamed = list(alias?.colnames).length > 0;
  return {
    exposed: alias ? String(alias.aliasname ?? '') : name,
    aliased: alias !== undefined,
    ...(schema !== undefined ? { schema } : {}),
    reads: renamed ? [] : reads,
    opaque: tables.length === 0 || renamed,
    hidden: false,
  };
}

/** The catalog tables a RangeVar body may name; [] for other relations and for visible CTE names. */
export function resolveRelation(rv: Body, catalog: Catalog, ctes?: ReadonlySet<string>): Table[] {
  const name = String(rv.relname ?? '');
  if (typeof rv.catalogname === 'string' && rv.catalogname !== 'aws') return [];
  if (typeof rv.schemaname === 'string') {
    const table = catalog.table(rv.schemaname, name);
    return table ? [table] : [];
  }
  if (ctes?.has(name)) return [];
  // Unqualified: search_path may hold any of the catalog's schemas.
  return catalog.tablesNamed(name);
}

/** The keys a read's WHERE or ON pins to another catalog table's rows: each one expression over one table. */
export function rowsKeys(read: TableRead): Partial<Record<KeyColumn, RowsKey>> {
  const out: Partial<Record<KeyColumn, RowsKey>> = {};
  for (const [column, exprs] of Object.entries(read.keys)) {
    const only = exprs?.length === 1 ? exprs[0] : undefined;
    if (only?.kind === 'rows') out[column] = only;
  }
  return out;
}

/**
 * The values each pinned key takes with these parameter values (text). A null parameter matches nothing;
 * a missing one (undefined) leaves the key unpinned. An empty list means no row can match.
 */
export function resolveKeys(read: TableRead, params: readonly (string | null | undefined)[]): ResolvedKeys {
  const out: ResolvedKeys = {};
  for (const [column, exprs] of Object.entries(read.keys) as [KeyColumn, KeyExpr[] | undefined][]) {
    const values = exprs && keyValues(exprs, params);
    if (values) out[column] = [...new Set(values)];
  }
  return out;
}

function keyValues(exprs: KeyExpr[], params: readonly (string | null | undefined)[]): string[] | undefined {
  const values: string[] = [];
  for (const expr of exprs) {
    if (expr.kind === 'const') {
      values.push(expr.value);
      continue;
    }
    // Known only once the other table is read (rowsKeys).
    if (expr.kind === 'rows') return undefined;
    const value = params[expr.index - 1];
    if (value === undefined) return undefined;
    if (value === null) continue;
    if (!expr.array) {
      values.push(value);
      continue;
    }
    const elements = parseArrayLiteral(value);
    if (!elements) return undefined;
    for (const e of elements) if (e !== null) values.push(e);
  }
  return values;
}
