import type { Catalog, Table } from '../../catalog/types.js';
import { as, constValue, isObject, list, names } from './ast.js';
import { conjuncts } from './keys.js';
import type { ParsedStatement } from './parse.js';

/** What one WHERE conjunct compares a key column with: a string literal, or the statement's parameter $index. */
export type PointValue = { kind: 'const'; value: string } | { kind: 'param'; index: number };

/**
 * A SELECT simple enough for the session to answer from the fetched rows without the engine (a direct point read):
 * columns of one AWS resource table, where key columns equal text values. See server/session/direct-read.ts.
 */
export interface PointReadShape {
  table: Table;
  /** The table column each output column shows, in output order (`*` expanded in the table's column order). */
  columns: string[];
  /** Whether the target list renames the output column at the same position (its name is then not the column's). */
  renamed: boolean[];
  /** `column = value`, all of which a row must meet. */
  conditions: { column: string; value: PointValue }[];
  /** The highest $n the statement uses (0: none); every $1..$n is compared with a text key column. */
  params: number;
  /**
   * The statement without its WHERE: what the engine describes for the row description, the same for every value
   * compared, so a session describes it once whatever literals the statement text holds.
   */
  describeSql: string;
}

/** Keys of a SelectStmt's body the shape allows; any other (WITH, DISTINCT, GROUP BY, ORDER BY...) is not a point read. */
const allowedSelectFields = new Set(['targetList', 'fromClause', 'whereClause', 'op', 'limitOption']);

/**
 * Shapes by parsed tree, per catalog: the parser keeps the statements of a text it has seen (parse.ts), so a driver
 * that parses the same text for each execution finds its shape here.
 */
const shapes = new WeakMap<Catalog, WeakMap<object, PointReadShape | null>>();

/** The statement's point-read shape, or undefined when it has another; decided once per parsed statement. */
export function pointReadShape(stmt: ParsedStatement, catalog: Catalog): PointReadShape | undefined {
  if (stmt.kind !== 'select') return undefined;
  let known = shapes.get(catalog);
  if (!known) shapes.set(catalog, (known = new WeakMap()));
  let shape = known.get(stmt.ast);
  if (shape === undefined) {
    shape = shapeOf(stmt.ast, catalog) ?? null;
    known.set(stmt.ast, shape);
  }
  return shape ?? undefined;
}

function shapeOf(ast: Record<string, unknown>, catalog: Catalog): PointReadShape | undefined {
  const select = as(ast, 'SelectStmt');
  if (!select) return undefined;
  for (const key of Object.keys(select)) if (!allowedSelectFields.has(key)) return undefined;
  if (select.op !== undefined && select.op !== 'SETOP_NONE') return undefined;
  if (select.limitOption !== undefined && select.limitOption !== 'LIMIT_OPTION_DEFAULT') return undefined;

  const from = list(select.fromClause);
  if (from.length !== 1) return undefined;
  const rv = as(from[0], 'RangeVar');
  // Schema-qualified only: an unqualified name is resolved by search_path, which the engine applies.
  if (!rv || typeof rv.schemaname !== 'string' || rv.catalogname !== undefined) return undefined;
  if (rv.relpersistence !== undefined && rv.relpersistence !== 'p') return undefined;
  const table = catalog.table(rv.schemaname, String(rv.relname ?? ''));
  if (!table || !readsResources(table)) return undefined;
  const alias = isObject(rv.alias) ? rv.alias : undefined;
  if (alias && list(alias.colnames).length > 0) return undefined;
  const aliasName = alias ? String(alias.aliasname ?? '') : undefined;
  // The name the FROM item exposes: a column may be qualified by it (or, without an alias, by schema.table).
  const qualifies = (parts: string[]): boolean =>
    parts.length === 0 ||
    (aliasName !== undefined
      ? parts.length === 1 && parts[0] === aliasName
      : (parts.length === 1 && parts[0] === table.name) ||
        (parts.length === 2 && parts[0] === table.schema && parts[1] === table.name));
  const columnOf = (name: string | undefined) =>
    name === undefined ? undefined : table.columns.find((c) => c.name === name);

  const columns: string[] = [];
  const renamed: boolean[] = [];
  const targets: string[] = [];
  for (const item of list(select.targetList)) {
    const target = as(item, 'ResTarget');
    const ref = as(target?.val, 'ColumnRef');
    if (!target || !ref || target.indirection !== undefined) return undefined;
    const fields = list(ref.fields);
    const last = fields.at(-1);
    const qualifier = names(fields.slice(0, -1));
    if (qualifier.some((p) => p === undefined) || !qualifies(qualifier as string[])) return undefined;
    const prefix = qualifier.map((p) => `${quoteIdent(p!)}.`).join('');
    if (as(last, 'A_Star')) {
      if (target.name !== undefined) return undefined;
      for (const c of table.columns) {
        columns.push(c.name);
        renamed.push(false);
      }
      targets.push(`${prefix}*`);
      continue;
    }
    const column = columnOf(names([last])[0]);
    if (!column) return undefined;
    columns.push(column.name);
    renamed.push(target.name !== undefined);
    const as_ = target.name !== undefined ? ` AS ${quoteIdent(String(target.name))}` : '';
    targets.push(`${prefix}${quoteIdent(column.name)}${as_}`);
  }
  if (columns.length === 0) return undefined;

  const conditions: PointReadShape['conditions'] = [];
  const used = new Set<number>();
  if (select.whereClause === undefined) return undefined;
  for (const conjunct of conjuncts(select.whereClause)) {
    const e = as(conjunct, 'A_Expr');
    if (!e || e.kind !== 'AEXPR_OP') return undefined;
    const op = names(e.name);
    if (op.length !== 1 || op[0] !== '=') return undefined;
    const left = columnRef(e.lexpr);
    const right = columnRef(e.rexpr);
    const side = left ? { ref: left, other: e.rexpr } : right ? { ref: right, other: e.lexpr } : undefined;
    if (!side || !qualifies(side.ref.slice(0, -1))) return undefined;
    const column = columnOf(side.ref.at(-1));
    // A text key column the fetch pins: the row's value is compared bytewise (the default collation is deterministic).
    if (!column || !column.key || column.type !== 'text') return undefined;
    const value = pointValue(side.other);
    if (!value) return undefined;
    if (value.kind === 'param') used.add(value.index);
    conditions.push({ column: column.name, value });
  }
  const params = Math.max(0, ...used);
  // Every parameter up to the highest must be typed by a comparison (else the engine cannot tell its type).
  if (used.size !== params) return undefined;

  const alias_ = aliasName !== undefined ? ` AS ${quoteIdent(aliasName)}` : '';
  const describeSql = `SELECT ${targets.join(', ')} FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}${alias_}`;
  return { table, columns, renamed, conditions, params, describeSql };
}

/**
 * The tables of AWS resources: a type's typed tables, and cloud_control.resources (any type, its model as jsonb).
 * Not resource_requests, resource_types or sessions, whose rows are not resources fetched by key.
 */
function readsResources(table: Table): boolean {
  if (table.kind === 'resource' || table.kind === 'collection') return true;
  return table.schema === 'cloud_control' && table.name === 'resources';
}

/** A plain column reference's name parts (1 to 3), or undefined. */
function columnRef(node: unknown): string[] | undefined {
  const ref = as(node, 'ColumnRef');
  if (!ref) return undefined;
  const parts = names(ref.fields);
  if (parts.length === 0 || parts.length > 3 || parts.some((p) => p === undefined)) return undefined;
  return parts as string[];
}

/**
 * A string literal, or a parameter. A literal with a backslash is left to the engine: what it means depends on
 * standard_conforming_strings, which the session may have turned off.
 */
function pointValue(node: unknown): PointValue | undefined {
  const param = as(node, 'ParamRef');
  if (param) {
    const index = Number(param.number ?? 0);
    return index >= 1 ? { kind: 'param', index } : undefined;
  }
  const c = constValue(node);
  if (c?.type !== 'string' || isObject((node as { A_Const: Record<string, unknown> }).A_Const.bsval))
    return undefined;
  return c.value.includes('\\') ? undefined : { kind: 'const', value: c.value };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
