/**
 * cloud_control.refresh_accounts(): lists the organization again before the statement runs (as clear_cache()
 * empties the cache before), and hands the engine's function what changed through a setting of the statement's
 * unit (catalog/ddl.ts declares the function, which reads it).
 */
import { untilAborted } from '../cloudcontrol/cache.js';
import type { AccountChange, MemberRefresh } from '../cloudcontrol/member-refresh.js';
import { PgError, SqlState } from '../errors.js';
import { list, names, nodesOf } from '../plan/ast.js';
import type { ParsedStatement } from '../plan/parse.js';
import { serializeFrontend } from '../wire/frontend-serializer.js';

/** The setting the engine's refresh_accounts() reads its rows from: JSON, the statement's unit only. */
export const refreshedAccountsSetting = 'aws.refreshed_accounts';

/** Whether the statement calls cloud_control.refresh_accounts() anywhere. */
export function callsRefreshAccounts(stmt: ParsedStatement): boolean {
  if (!/refresh_accounts/i.test(stmt.sql)) return false;
  return [...nodesOf(stmt.ast, 'FuncCall')].some((call) => {
    const fn = names(call.funcname).map((n) => n?.toLowerCase());
    return (
      fn.at(-1) === 'refresh_accounts' &&
      (fn.length === 1 || fn[0] === 'cloud_control') &&
      list(call.args).length === 0
    );
  });
}

/**
 * When the statement calls refresh_accounts(): the refresh, done, and the frontend message that sets its changes
 * for the engine's function (a prelude of the statement's unit); else nothing. Without `organization:` it is
 * 55000; a refresh that fails is an error with the cause, and the accounts read stay as they were.
 */
export async function refreshAccountsFor(
  stmt: ParsedStatement,
  members: MemberRefresh | undefined,
  signal: AbortSignal,
): Promise<Buffer[]> {
  if (!callsRefreshAccounts(stmt)) return [];
  if (members === undefined)
    throw new PgError(
      SqlState.object_not_in_prerequisite_state,
      'cloud_control.refresh_accounts() lists the accounts of an AWS Organization, and this server reads none',
      { hint: 'Configure organization: in the configuration file (docs/CONFIGURATION.md).' },
    );
  let changes: AccountChange[];
  try {
    // A cancel stops the wait; the refresh goes on (others may wait for it) and applies what it finds.
    changes = await untilAborted(members.refresh(), signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw refreshError(err);
  }
  const json = JSON.stringify(changes).replaceAll("'", "''");
  return [
    serializeFrontend({
      type: 'Query',
      sql: `SELECT pg_catalog.set_config('${refreshedAccountsSetting}', '${json}', true)`,
    }),
  ];
}

/** The Error of a failed refresh, as the client sees it: denied 42501, rejected credentials 28000, else 58000. */
function refreshError(err: unknown): PgError {
  const cause = (err as Error).cause as Error | undefined;
  const name = cause?.name ?? '';
  const code = /AccessDenied|Unauthorized/.test(name)
    ? SqlState.insufficient_privilege
    : /Credential|Token|Signature|UnrecognizedClient/.test(name)
      ? SqlState.invalid_authorization_specification
      : SqlState.system_error;
  return new PgError(code, (err as Error).message, {
    hint: 'The accounts read are unchanged; cloud_control.refresh_accounts() tries again.',
  });
}
