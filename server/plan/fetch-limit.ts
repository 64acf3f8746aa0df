import type { ParsedStatement } from './parse.js';

type Node = Record<string, unknown>;

/**
 * How many rows of its one table a statement can possibly return, when that bounds what must be fetched:
 * `SELECT <columns> FROM <table> [WHERE <region pins>] LIMIT n [OFFSET k]` with nothing that looks at other
 * rows (no ORDER BY, DISTINCT, GROUP BY, aggregates, window or set-returning functions, other conditions).
 * Then any n + k rows give the same answer, and a BI tool's preview (`LIMIT 200`) of the resource table costs
 * 200 GetResource calls, not one per resource. Undefined whenever that is not certain.
 */
export function fetchLimit(stmt: ParsedStatement): number | undefined {
  const s = (stmt.ast as { SelectStmt?: Node }).SelectStmt;
  if (!s || s.op !== 'SETOP_NONE' || s.limitOption !== 'LIMIT_OPTION_COUNT') return undefined;
  if (s.withClause || s.distinctClause || s.groupClause || s.havingClause || s.windowClause || s.sortClause)
    return undefined;
  const from = s.fromClause as Node[] | undefined;
  if (from?.length !== 1 || !from[0]!.RangeVar) return undefined;
  if (!(s.targetList as Node[]).every((t) => plainValue((t.ResTarget as Node).val))) return undefined;
  if (s.whereClause !== undefined && !conjuncts(s.whereClause).every(pinsRegion)) return undefined;
  const limit = integer(s.limitCount);
  const offset = s.limitOffset === undefined ? 0 : integer(s.limitOffset);
  return limit === undefined || offset === undefined ? undefined : limit + offset;
}

/** A column, a constant, or a cast of one: nothing that could aggregate or expand rows. */
function plainValue(node: unknown): boolean {
  const n = node as Node;
  if (n.ColumnRef || n.A_Const) return true;
  return n.TypeCast !== undefined && plainValue((n.TypeCast as Node).arg);
}

function conjuncts(node: unknown): unknown[] {
  const b = (node as Node).BoolExpr as Node | undefined;
  return b?.boolop === 'AND_EXPR' ? (b.args as unknown[]) : [node];
}

/** `region = ...`, `region IN (...)`, `region = ANY (...)` (or account_id, account_name): conditions the fetch itself applies. */
function pinsRegion(node: unknown): boolean {
  const e = (node as Node).A_Expr as Node | undefined;
  if (!e || !['AEXPR_OP', 'AEXPR_IN', 'AEXPR_OP_ANY'].includes(String(e.kind))) return false;
  const op = ((e.name as { String?: { sval?: string } }[]) ?? [])[0]?.String?.sval;
  const fields = ((e.lexpr as Node | undefined)?.ColumnRef as { fields?: { String?: { sval?: string } }[] })
    ?.fields;
  return op === '=' && ['region', 'account_id', 'account_name'].includes(fields?.at(-1)?.String?.sval ?? '');
}

function integer(node: unknown): number | undefined {
  const c = (node as { A_Const?: { ival?: { ival?: number } } } | undefined)?.A_Const;
  return c?.ival ? (c.ival.ival ?? 0) : undefined;
}
