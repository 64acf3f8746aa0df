import { deparseSync } from 'pgsql-parser';
import type { Table } from '../../catalog/types.js';
import { as, isObject, list, names, type Body } from './ast.js';
import { columnName, isEquals, type KeyComparison, type RowsKey } from './keys.js';
import { quoteIdentifier } from './set.js';

/** Binds a column reference's name parts to a FROM item of the scope (undefined when unsure). */
export type Bind<E> = (parts: string[]) => E | undefined;

/** What a FROM item must offer to be a key's source: exactly one catalog table, its columns as they are. */
export interface SourceEntry {
  exposed: string;
  aliased: boolean;
  reads: { table: Table }[];
  opaque: boolean;
  hidden: boolean;
}

/** A comparison pinning a key column to another table's rows, with the FROM item those rows come from. */
export interface RowsComparison<E> extends KeyComparison {
  /** Absent for a subquery: no FROM item of the scope. */
  source?: E;
}

/**
 * Functions whose value depends only on their arguments (and the session's settings, which the engine applies
 * when it computes the keys): a key expression may call these, nothing else, so computing it over the source's
 * rows gives the values the statement compares.
 */
const immutableFunctions = new Set([
  'lower',
  'upper',
  'btrim',
  'ltrim',
  'rtrim',
  'split_part',
  'substring',
  'substr',
  'replace',
  'concat',
  'concat_ws',
  'left',
  'right',
  'regexp_replace',
  'jsonb_extract_path_text',
  'json_extract_path_text',
]);
const keyOperators = new Set(['->>', '->', '#>>', '#>', '||']);

/**
 * `key = expr` (either side) where expr reads only one other catalog table of the scope, and `key IN (SELECT expr
 * FROM table ...)` / `key = ANY (SELECT ...)` / `key = (SELECT ...)` over a single catalog table: the key's values
 * are among expr's over that table's rows. The source's own conditions are left out (a superset, never less).
 */
export function rowsComparisons<E extends SourceEntry>(
  conjunct: unknown,
  bind: Bind<E>,
  resolve: (rv: Body) => Table[],
): RowsComparison<E>[] {
  const sub = as(conjunct, 'SubLink');
  if (sub) {
    const column = columnName(sub.testexpr);
    const eq = list(sub.operName).length === 0 || isEquals(sub.operName);
    if (sub.subLinkType !== 'ANY_SUBLINK' || !column || !eq) return [];
    return subquerySource(sub.subselect, resolve, column);
  }
  const e = as(conjunct, 'A_Expr');
  if (!e || e.kind !== 'AEXPR_OP' || !isEquals(e.name)) return [];
  const out: RowsComparison<E>[] = [];
  for (const [side, other] of [
    [e.lexpr, e.rexpr],
    [e.rexpr, e.lexpr],
  ]) {
    const column = columnName(side);
    if (!column) continue;
    const scalar = as(other, 'SubLink');
    if (scalar) {
      if (scalar.subLinkType === 'EXPR_SUBLINK')
        out.push(...subquerySource<E>(scalar.subselect, resolve, column));
      continue;
    }
    const found = expressionSource(other, bind);
    if (found) out.push({ column, values: [found.key], source: found.source });
  }
  return out;
}

/** The single FROM item every column reference of `expr` binds to, when expr is a key expression over it. */
function expressionSource<E extends SourceEntry>(
  expr: unknown,
  bind: Bind<E>,
): { source: E; key: RowsKey } | undefined {
  const refs: string[][] = [];
  if (!keyExpression(expr, refs) || refs.length === 0) return undefined;
  let source: E | undefined;
  for (const parts of refs) {
    const entry = bind(parts);
    if (!entry || (source && entry !== source)) return undefined;
    source = entry;
  }
  if (!source || source.opaque || source.hidden || source.reads.length !== 1) return undefined;
  const table = source.reads[0]!.table;
  if (!refs.every((parts) => table.columns.some((c) => c.name === parts[parts.length - 1]))) return undefined;
  const from = `${relationSql(table)}${source.aliased ? ` AS ${quoteIdentifier(source.exposed)}` : ''}`;
  return { source, key: { kind: 'rows', source: table, from, expr: deparse(expr) } };
}

/** `SELECT expr FROM table [alias] [WHERE ...]`: expr over the table's rows (its WHERE only narrows them). */
function subquerySource<E>(
  subselect: unknown,
  resolve: (rv: Body) => Table[],
  column: string[],
): RowsComparison<E>[] {
  const sel = as(subselect, 'SelectStmt');
  if (!sel || (sel.op && sel.op !== 'SETOP_NONE') || sel.withClause || sel.valuesLists) return [];
  const from = list(sel.fromClause);
  const targets = list(sel.targetList);
  const rv = from.length === 1 ? as(from[0], 'RangeVar') : undefined;
  const target = targets.length === 1 ? as(targets[0], 'ResTarget') : undefined;
  if (!rv || !target) return [];
  const tables = resolve(rv);
  const alias = isObject(rv.alias) ? rv.alias : undefined;
  if (tables.length !== 1 || list(alias?.colnames).length > 0) return [];
  const entry: SourceEntry = {
    exposed: alias ? String(alias.aliasname ?? '') : String(rv.relname ?? ''),
    aliased: alias !== undefined,
    reads: [{ table: tables[0]! }],
    opaque: false,
    hidden: false,
  };
  const schema = typeof rv.schemaname === 'string' ? rv.schemaname : undefined;
  // Inside the subquery a name binds to its one table, or (absent there) to an outer query: then we are unsure.
  const bind: Bind<SourceEntry> = (parts) => {
    const [relation, qualifier, database] = parts.slice(0, -1).reverse();
    if (relation === undefined) return entry;
    if (database !== undefined && database !== 'aws') return undefined;
    if (relation !== entry.exposed) return undefined;
    if (qualifier !== undefined && (entry.aliased || (schema ?? tables[0]!.schema) !== qualifier))
      return undefined;
    return entry;
  };
  const found = expressionSource(target.val, bind);
  // The outer comparison's source is the subquery, which no FROM item of the outer scope is.
  return found ? [{ column, values: [found.key] }] : [];
}

/** Collects the column references; false for anything whose value could differ between two evaluations. */
function keyExpression(node: unknown, refs: string[][]): boolean {
  if (!isObject(node)) return false;
  const [type, body] = Object.entries(node)[0] ?? [];
  if (!isObject(body)) return false;
  switch (type) {
    case 'ColumnRef': {
      const parts = columnName(node);
      if (!parts) return false;
      refs.push(parts);
      return true;
    }
    case 'A_Const':
      return true;
    case 'TypeCast':
      return keyExpression(body.arg, refs);
    case 'A_Expr': {
      const op = names(body.name);
      if (body.kind !== 'AEXPR_OP' || op.length !== 1 || !keyOperators.has(op[0] ?? '')) return false;
      return keyExpression(body.lexpr, refs) && keyExpression(body.rexpr, refs);
    }
    case 'CoalesceExpr':
      return list(body.args).every((a) => keyExpression(a, refs));
    case 'FuncCall': {
      const fn = names(body.funcname);
      const name = fn.length === 2 && fn[0] === 'pg_catalog' ? fn[1] : fn.length === 1 ? fn[0] : undefined;
      const plain = !body.over && !body.agg_star && !body.agg_distinct && !body.agg_filter && !body.agg_order;
      if (!plain || !name || !immutableFunctions.has(name) || body.func_variadic) return false;
      return list(body.args).every((a) => keyExpression(a, refs));
    }
    default:
      return false;
  }
}

function relationSql(table: Table): string {
  return `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
}

function deparse(node: unknown): string {
  return deparseSync(node as never, { pretty: false }).trim();
}
