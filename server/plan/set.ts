import { scanSync } from 'libpg-query';
import { as, constValue, list } from './ast.js';
import type { ParsedStatement } from './parse.js';

export interface TransactionModes {
  isolation?: string;
  readOnly?: boolean;
  deferrable?: boolean;
}

/** The modes of BEGIN / START TRANSACTION / SET TRANSACTION (DefElems with an A_Const argument). */
export function transactionModes(options: unknown): TransactionModes {
  const out: TransactionModes = {};
  for (const item of list(options)) {
    const d = as(item, 'DefElem');
    const value = constValue(d?.arg);
    if (!d || !value || value.type === 'null') continue;
    if (d.defname === 'transaction_isolation') out.isolation = String(value.value);
    else if (d.defname === 'transaction_read_only') out.readOnly = value.value !== '0';
    else if (d.defname === 'transaction_deferrable') out.deferrable = value.value !== '0';
  }
  return out;
}

export interface SetInfo {
  /** Lower-cased GUC name (`timezone` for SET TIME ZONE, `client_encoding` for SET NAMES, `all` for RESET ALL). */
  name: string;
  /** The value as PostgreSQL receives it; null = DEFAULT (also for RESET, and for the `items` forms). */
  value: string | null;
  local: boolean;
  isReset: boolean;
  resetAll: boolean;
  /**
   * SET TRANSACTION ... (name `transaction`) and SET SESSION CHARACTERISTICS AS TRANSACTION ...
   * (name `session characteristics`) set several GUCs at once: transaction_isolation /
   * transaction_read_only / transaction_deferrable, or their default_ counterparts for the session.
   */
  items?: { name: string; value: string }[];
  /** SET x FROM CURRENT: keeps the current value. */
  fromCurrent?: boolean;
}

// GUCs flagged GUC_LIST_QUOTE: PostgreSQL quotes each list element as an identifier.
const LIST_QUOTE = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'shared_preload_libraries',
  'local_preload_libraries',
]);

/** VariableSetStmt: SET, SET LOCAL, SET TIME ZONE, SET NAMES, SET ROLE, SET TRANSACTION, RESET, RESET ALL. */
export function setOf(stmt: ParsedStatement): SetInfo {
  const b = as(stmt.ast, 'VariableSetStmt');
  if (!b) throw new TypeError(`expected a VariableSetStmt, got ${Object.keys(stmt.ast)[0]}`);
  const name = String(b.name ?? '').toLowerCase();
  const info: SetInfo = { name, value: null, local: Boolean(b.is_local), isReset: false, resetAll: false };
  switch (b.kind) {
    case 'VAR_SET_VALUE':
      info.value = flatten(name, b.args);
      break;
    case 'VAR_SET_CURRENT':
      info.fromCurrent = true;
      break;
    case 'VAR_SET_MULTI':
      info.items = multiItems(name, b.args);
      break;
    case 'VAR_RESET':
      info.isReset = true;
      break;
    case 'VAR_RESET_ALL':
      Object.assign(info, { name: 'all', isReset: true, resetAll: true });
      break;
  }
  return info;
}

/** PostgreSQL's flatten_set_variable_args: the argument list as one string. */
function flatten(name: string, args: unknown): string {
  return list(args)
    .map((arg) => {
      const cast = as(arg, 'TypeCast');
      // SET TIME ZONE INTERVAL '...' arrives as a cast; the string is kept as written.
      const c = constValue(cast ? cast.arg : arg);
      if (!c || c.type === 'null') return '';
      if (c.type === 'string' && LIST_QUOTE.has(name)) return quoteIdentifier(c.value);
      return String(c.value);
    })
    .join(', ');
}

function multiItems(name: string, args: unknown): { name: string; value: string }[] {
  const prefix = name === 'session characteristics' ? 'default_' : '';
  const modes = transactionModes(args);
  const items: { name: string; value: string }[] = [];
  if (modes.isolation !== undefined)
    items.push({ name: `${prefix}transaction_isolation`, value: modes.isolation });
  if (modes.readOnly !== undefined) {
    items.push({ name: `${prefix}transaction_read_only`, value: modes.readOnly ? 'on' : 'off' });
  }
  if (modes.deferrable !== undefined) {
    items.push({ name: `${prefix}transaction_deferrable`, value: modes.deferrable ? 'on' : 'off' });
  }
  return items;
}

// Keyword categories from the scanner: only unreserved keywords may stay unquoted.
const NO_KEYWORD = 0;
const UNRESERVED_KEYWORD = 1;

/** PostgreSQL's quote_identifier. */
export function quoteIdentifier(ident: string): string {
  let safe = /^[a-z_][a-z0-9_]*$/.test(ident);
  if (safe) {
    const kind = scanSync(ident).tokens[0]?.keywordKind ?? NO_KEYWORD;
    safe = kind === NO_KEYWORD || kind === UNRESERVED_KEYWORD;
  }
  return safe ? ident : `"${ident.replace(/"/g, '""')}"`;
}
