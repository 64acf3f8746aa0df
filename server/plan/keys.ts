import type { Table } from '../../catalog/types.js';
import { parseArrayLiteral } from './array-literal.js';
import { as, constValue, isObject, list, names } from './ast.js';

/** A value a key column is pinned to: a constant, or the statement's parameter $index (1-based). */
export type KeyExpr =
  | { kind: 'const'; value: string }
  /** `array`: the parameter is a text array (`col = ANY($1)`), one value per element. */
  | { kind: 'param'; index: number; array?: boolean }
  | RowsKey;

/**
 * A key pinned by another catalog table's rows (a join's ON, a WHERE, `IN (SELECT ...)`): the distinct values of
 * `expr` over every row fetched for `source`, which the engine computes with `SELECT DISTINCT (expr)::text FROM from`.
 */
export interface RowsKey {
  kind: 'rows';
  source: Table;
  /** The FROM item the expression's column references bind to, e.g. `appflow.flows AS f`. */
  from: string;
  /** The expression as SQL, e.g. `f.source_flow_config ->> 'ConnectorProfileName'`. */
  expr: string;
}

/**
 * Columns a read can be narrowed by; a table's own `key` columns say which of them apply to it. Besides these,
 * the parts of a compound primary identifier are keys of their type's tables (catalog `key`).
 */
export const KEY_COLUMNS = [
  'region',
  'account_id',
  'account_name',
  'data__identifier',
  'operation',
  'operation_status',
  'type_name',
  'identifier',
] as const;
/** One of KEY_COLUMNS, or a compound identifier's part column (e.g. `rest_api_id`). */
export type KeyColumn = string;

/** `column <op> values` found in one conjunct; `column` is the ColumnRef's name parts. */
export interface KeyComparison {
  column: string[];
  values: KeyExpr[];
}

/** The top-level AND conjuncts of a qualification. */
export function conjuncts(expr: unknown): unknown[] {
  if (expr === undefined) return [];
  const b = as(expr, 'BoolExpr');
  if (b?.boolop === 'AND_EXPR') return list(b.args).flatMap(conjuncts);
  return [expr];
}

/**
 * Recognizes `col = v`, `v = col`, `col IN (v, ...)`, `col = ANY(ARRAY[v, ...])`, `col = ANY($n)` and
 * `col = ANY('{...}')` where each v is a string constant or a parameter, optionally cast to text or
 * varchar. Anything else pins nothing.
 */
export function keyComparison(expr: unknown): KeyComparison | undefined {
  const e = as(expr, 'A_Expr');
  if (!e || !isEquals(e.name)) return undefined;
  if (e.kind === 'AEXPR_OP') {
    const left = columnName(e.lexpr);
    const right = columnName(e.rexpr);
    if (left && !right) return single(left, keyValue(e.rexpr));
    if (right && !left) return single(right, keyValue(e.lexpr));
    return undefined;
  }
  const column = columnName(e.lexpr);
  if (!column) return undefined;
  if (e.kind === 'AEXPR_IN') return many(column, list(as(e.rexpr, 'List')?.items).map(keyValue));
  if (e.kind === 'AEXPR_OP_ANY') {
    const values = arrayValues(e.rexpr);
    return values ? { column, values } : undefined;
  }
  return undefined;
}

function single(column: string[], value: KeyExpr | undefined): KeyComparison | undefined {
  return value ? { column, values: [value] } : undefined;
}

function many(column: string[], values: (KeyExpr | undefined)[]): KeyComparison | undefined {
  if (values.length === 0 || values.some((v) => v === undefined)) return undefined;
  return { column, values: values as KeyExpr[] };
}

/** `=` or `OPERATOR(pg_catalog.=)`. */
export function isEquals(name: unknown): boolean {
  const parts = names(name);
  if (parts.length === 1) return parts[0] === '=';
  return parts.length === 2 && parts[0] === 'pg_catalog' && parts[1] === '=';
}

/** A plain column reference's name parts (no `*`, no subscripts, no casts). */
export function columnName(node: unknown): string[] | undefined {
  const ref = as(node, 'ColumnRef');
  if (!ref) return undefined;
  const parts = names(ref.fields);
  if (parts.length === 0 || parts.length > 4 || parts.some((p) => p === undefined)) return undefined;
  return parts as string[];
}

/** A string constant or a parameter, through casts that keep the text as it is. */
function keyValue(node: unknown): KeyExpr | undefined {
  const cast = as(node, 'TypeCast');
  if (cast) return castKeeps(cast.typeName, false) ? keyValue(cast.arg) : undefined;
  const param = as(node, 'ParamRef');
  if (param) return paramOf(param);
  const c = constValue(node);
  return c?.type === 'string' ? { kind: 'const', value: c.value } : undefined;
}

function paramOf(param: Record<string, unknown>, array = false): KeyExpr | undefined {
  const index = Number(param.number ?? 0);
  if (index < 1) return undefined;
  return array ? { kind: 'param', index, array: true } : { kind: 'param', index };
}

/** The right side of `= ANY(...)`. */
function arrayValues(node: unknown): KeyExpr[] | undefined {
  const cast = as(node, 'TypeCast');
  if (cast) return castKeeps(cast.typeName, true) ? arrayValues(cast.arg) : undefined;
  const arr = as(node, 'A_ArrayExpr');
  if (arr) return many([], list(arr.elements).map(keyValue))?.values;
  const param = as(node, 'ParamRef');
  if (param) {
    const p = paramOf(param, true);
    return p ? [p] : undefined;
  }
  const c = constValue(node);
  if (c?.type !== 'string') return undefined;
  const elements = parseArrayLiteral(c.value);
  if (!elements) return undefined;
  // NULL elements never compare equal.
  return elements.filter((v): v is string => v !== null).map((value) => ({ kind: 'const', value }));
}

/**
 * A cast to text or varchar (or their arrays) without a length: it neither truncates nor pads, so
 * the value compared is the value written. bpchar, name and varchar(n) change it.
 */
function castKeeps(typeName: unknown, array: boolean): boolean {
  if (!isObject(typeName)) return false;
  const parts = names(typeName.names);
  const base =
    parts.length === 2 && parts[0] === 'pg_catalog' ? parts[1] : parts.length === 1 ? parts[0] : '';
  if (base !== 'text' && base !== 'varchar') return false;
  if (list(typeName.typmods).length > 0) return false;
  return list(typeName.arrayBounds).length === (array ? 1 : 0);
}
