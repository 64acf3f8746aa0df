import { as, isObject } from './ast.js';

/**
 * Whether a statement names pg_stat_activity anywhere (a superset: a CTE of that name counts too): the engine's
 * pg_stat_activity is a view over cloud_control.sessions, whose rows are loaded only when they may be read.
 */
export function namesPgStatActivity(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(namesPgStatActivity);
  if (!isObject(node)) return false;
  const range = as(node, 'RangeVar');
  if (
    range?.relname === 'pg_stat_activity' &&
    (range.schemaname === undefined || range.schemaname === 'pg_catalog')
  )
    return true;
  return Object.values(node).some((value) => typeof value === 'object' && namesPgStatActivity(value));
}
