import { nodesOf } from './ast.js';
import type { ParsedStatement } from './parse.js';

/**
 * Whether a statement names pg_stat_activity anywhere (a superset: a CTE of that name counts too): the engine's
 * pg_stat_activity is a view over cloud_control.sessions, whose rows are loaded only when they may be read.
 */
export function namesPgStatActivity(stmt: ParsedStatement): boolean {
  if (!/pg_stat_activity/i.test(stmt.sql)) return false;
  for (const range of nodesOf(stmt.ast, 'RangeVar'))
    if (
      range.relname === 'pg_stat_activity' &&
      (range.schemaname === undefined || range.schemaname === 'pg_catalog')
    )
      return true;
  return false;
}
