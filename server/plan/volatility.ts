import { list, names, nodes } from './ast.js';
import type { ParsedStatement } from './parse.js';

/**
 * The names of the engine's volatile functions and of operators backed by one (from its pg_proc): a name counts as
 * volatile when any overload is.
 */
export interface VolatileNames {
  functions: ReadonlySet<string>;
  operators: ReadonlySet<string>;
}

/** What the engine's pg_proc and pg_operator give for VolatileNames: rows of ('f' | 'o', name). */
export const volatileNamesSql = `SELECT 'f', proname FROM pg_catalog.pg_proc WHERE provolatile = 'v'
UNION SELECT 'o', o.oprname FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
WHERE p.provolatile = 'v'`;

/**
 * Stable functions whose answer changes with the clock, the transaction or the engine's run-time state, not only
 * with the catalog and the settings: a statement naming one is computed afresh each time.
 */
const clockOrTransaction = new Set([
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'clock_timestamp',
  'timeofday',
  'current_timestamp',
  'current_date',
  'current_time',
  'localtime',
  'localtimestamp',
  'pg_my_temp_schema',
  'pg_is_other_temp_schema',
  'pg_trigger_depth',
  'pg_notification_queue_usage',
  'pg_blocking_pids',
  'pg_safe_snapshot_blocking_pids',
]);
const runTimePrefixes = [
  'pg_stat',
  'pg_current_',
  'txid_',
  'pg_last_',
  'pg_wal',
  'pg_xact',
  'pg_ls_',
  'pg_read_',
];

/** System views over the engine's run-time state (or the session's own, which the engine does not keep). */
const runTimeRelations = new Set([
  'pg_locks',
  'pg_prepared_statements',
  'pg_prepared_xacts',
  'pg_cursors',
  'pg_backend_memory_contexts',
  'pg_file_settings',
  'pg_hba_file_rules',
  'pg_ident_file_mappings',
  'pg_wait_events',
  'pg_aios',
]);
const runTimeRelationPrefixes = ['pg_stat', 'pg_shmem', 'pg_replication', 'pg_ls_'];

/**
 * Stable functions whose answer is one session's own (its process id, its client's address, its user): an answer
 * naming one is kept for that session only.
 */
const sessionFunctions = new Set([
  'pg_backend_pid',
  'inet_client_addr',
  'inet_client_port',
  'inet_server_addr',
  'inet_server_port',
  'pg_my_temp_schema',
  'current_user',
  'session_user',
  'current_role',
  'user',
]);

/** Date/time input words whose value is the moment they are read (in a literal or a parameter value). */
const momentWords = /\b(now|today|tomorrow|yesterday)\b/i;

/** Parameter values that make the statement's answer depend on the moment it runs ('now'::timestamptz). */
export function paramsReadClock(params: readonly (string | null | undefined)[]): boolean {
  return params.some((p) => p !== null && p !== undefined && momentWords.test(p));
}

export interface Repeatability {
  /**
   * Why the answer may differ when computed again over the same rows with the same settings and parameters;
   * undefined when it may not (a plain SELECT of stable and immutable expressions).
   */
  reason?: string;
  /** The answer names something of the session's own (pg_backend_pid(), current_user): it is not shared. */
  sessionBound: boolean;
  /**
   * Running it leaves nothing in the engine that its unit's ROLLBACK does not undo (EngineUnit.plain): a SELECT
   * without INTO or FOR UPDATE/SHARE, writing nothing, calling no volatile function or operator (advisory locks,
   * nextval, set_config, dblink... are volatile). It may still read the clock (now()) or run-time state.
   */
  leavesNothing: boolean;
}

/** Whether the statement's answer can be kept and for whom. Parameter values are checked apart (paramsReadClock). */
export function repeatability(stmt: ParsedStatement, volatile: VolatileNames): Repeatability {
  if (stmt.kind !== 'select')
    return { reason: `a ${stmt.kind} statement`, sessionBound: true, leavesNothing: false };
  // The backend pid is a setting of the unit's own, not among the session's settings.
  let sessionBound = /backend_pid/i.test(stmt.sql);
  let reason: string | undefined;
  for (const [type, body] of nodes(stmt.ast)) {
    const left = leftBehind(type, body, volatile);
    // Once the answer cannot be kept, the walk goes on only to learn whether the statement leaves anything.
    if (reason === undefined) {
      reason = left ?? readsMoment(type, body);
      sessionBound ||= namesSession(type, body);
    }
    if (left !== undefined) return { reason, sessionBound, leavesNothing: false };
  }
  return { ...(reason === undefined ? {} : { reason }), sessionBound, leavesNothing: true };
}

/**
 * Why a node's effect may outlive its transaction's rollback, or end that transaction (see leavesNothing); such a
 * statement's answer is not kept either.
 */
function leftBehind(
  type: string,
  body: Record<string, unknown>,
  volatile: VolatileNames,
): string | undefined {
  switch (type) {
    // The parser's JSON has SelectStmt.intoClause unwrapped: nodes() yields it under its field's name.
    case 'intoClause':
      return 'SELECT INTO';
    case 'LockingClause':
      return 'FOR UPDATE/SHARE';
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return 'a data-modifying statement';
    case 'FuncCall': {
      const name = names(body.funcname).at(-1)?.toLowerCase() ?? '';
      return volatile.functions.has(name) ? `volatile function ${name}()` : undefined;
    }
    case 'A_Expr': {
      const name = names(body.name).at(-1) ?? '';
      return volatile.operators.has(name) ? `volatile operator ${name}` : undefined;
    }
    default:
      return undefined;
  }
}

function namesSession(type: string, body: Record<string, unknown>): boolean {
  if (type === 'FuncCall') return sessionFunctions.has(names(body.funcname).at(-1)?.toLowerCase() ?? '');
  if (type === 'SQLValueFunction') return /USER|ROLE/.test(String(body.op ?? ''));
  return false;
}

/** Why a node's value depends on when or where it runs (the clock, the transaction, run-time state). */
function readsMoment(type: string, body: Record<string, unknown>): string | undefined {
  switch (type) {
    case 'RangeTableSample':
      return 'TABLESAMPLE';
    case 'SQLValueFunction': {
      const op = String(body.op ?? '');
      return /DATE|TIME/.test(op) ? 'the current date or time' : undefined;
    }
    case 'FuncCall': {
      const name = names(body.funcname).at(-1)?.toLowerCase() ?? '';
      if (clockOrTransaction.has(name) || runTimePrefixes.some((p) => name.startsWith(p)))
        return `${name}() reads the clock, the transaction or run-time state`;
      if (name === 'age' && list(body.args).length === 1) return 'age() of one argument reads the clock';
      return undefined;
    }
    case 'A_Const':
      return typeof (body.sval as { sval?: unknown } | undefined)?.sval === 'string' &&
        momentWords.test((body.sval as { sval: string }).sval)
        ? 'a date/time literal read at the moment it runs'
        : undefined;
    case 'RangeVar': {
      const name = String(body.relname ?? '').toLowerCase();
      return runTimeRelations.has(name) || runTimeRelationPrefixes.some((p) => name.startsWith(p))
        ? `${name} shows run-time state`
        : undefined;
    }
    default:
      return undefined;
  }
}
