import { as, constValue, list, names, nodesOf } from './ast.js';
import type { ParsedStatement } from './parse.js';

/** Bind's parameter values as text, $1 first. */
type ParamValues = readonly (string | null | undefined)[];

/** A set_config(name, value, is_local) call whose setting the session must keep once the statement ran. */
export interface SetConfigCall {
  /** Lower-cased, as PostgreSQL matches GUC names. */
  name: string;
  local: boolean;
}

/**
 * The set_config calls anywhere in a statement whose name is known before it runs: a constant, or a $n with its
 * value. is_local that is neither counts as false (the session keeps the value); a name that is neither cannot be
 * kept, since the session could not tell which setting changed.
 */
export function setConfigCalls(stmt: ParsedStatement, params: ParamValues): SetConfigCall[] {
  if (!/set_config/i.test(stmt.sql)) return [];
  const calls: SetConfigCall[] = [];
  for (const call of nodesOf(stmt.ast, 'FuncCall')) {
    const fn = names(call.funcname);
    const args = list(call.args);
    if (
      fn.at(-1)?.toLowerCase() === 'set_config' &&
      (fn.length === 1 || fn[0]?.toLowerCase() === 'pg_catalog') &&
      args.length === 3
    ) {
      const name = textOf(args[0], params);
      const local = textOf(args[2], params);
      if (name !== undefined)
        calls.push({
          name: name.toLowerCase(),
          local: ['true', 't', 'on', '1', 'yes', 'y'].includes(local ?? ''),
        });
    }
  }
  return calls;
}

/** A constant's or a parameter's text, through casts (`'search_path'::text`, `$1::text`). */
function textOf(node: unknown, params: ParamValues): string | undefined {
  const cast = as(node, 'TypeCast');
  if (cast) return textOf(cast.arg, params);
  const param = as(node, 'ParamRef');
  if (param) return params[Number(param.number ?? 0) - 1] ?? undefined;
  const c = constValue(node);
  if (!c || c.type === 'null') return undefined;
  return c.type === 'boolean' ? (c.value ? 'true' : 'false') : c.value;
}
