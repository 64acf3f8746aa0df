import type { ParsedStatement } from './parse.js';

type Node = Record<string, unknown>;

/**
 * Whether a query visibly returns no rows whatever the tables hold: `LIMIT 0`, or a WHERE that is a
 * constant false (`false`, `1 <> 1`, `1 = 0`). BI tools (Metabase, Tableau, JDBC metadata) send such queries
 * to learn a table's columns; fetching every resource for them would cost one AWS call per row for nothing.
 */
export function returnsNoRows(stmt: ParsedStatement): boolean {
  const select = (stmt.ast as { SelectStmt?: Node }).SelectStmt;
  if (!select) return false;
  return integerConstant(select.limitCount) === 0 || isConstantFalse(select.whereClause);
}

function integerConstant(node: unknown): number | undefined {
  const c = (node as { A_Const?: { ival?: { ival?: number } } } | undefined)?.A_Const;
  // libpg-query leaves out a zero: `{ ival: {} }` is 0.
  return c?.ival ? (c.ival.ival ?? 0) : undefined;
}

function isConstantFalse(node: unknown): boolean {
  const c = (node as { A_Const?: { boolval?: { boolval?: boolean } } } | undefined)?.A_Const;
  if (c?.boolval) return c.boolval.boolval !== true;
  const e = (node as { A_Expr?: Node } | undefined)?.A_Expr;
  if (!e || e.kind !== 'AEXPR_OP') return false;
  const op = ((e.name as { String?: { sval?: string } }[] | undefined) ?? [])[0]?.String?.sval;
  const left = integerConstant(e.lexpr);
  const right = integerConstant(e.rexpr);
  if (left === undefined || right === undefined) return false;
  return (op === '=' && left !== right) || (op === '<>' && left === right) || (op === '!=' && left === right);
}
