import type { Catalog, Table } from '../../catalog/types.js';
import type { CloudControl } from '../cloudcontrol/client.js';
import type { EngineUnit } from '../engine/engine.js';
import type { ParsedStatement } from '../plan/parse.js';
import { namesPgStatActivity } from '../plan/activity.js';
import { neededColumns } from '../plan/columns.js';
import { fetchLimit } from '../plan/fetch-limit.js';
import { returnsNoRows } from '../plan/no-rows.js';
import { resolveKeys, tableReads, type ResolvedKeys as Keys } from '../plan/table-reads.js';

/**
 * Parameter values as text, by position; `undefined` where the value is not known before execution
 * (an EXECUTE argument that is an expression), which leaves any key that uses it unpinned.
 */
export type ParamValues = (string | null | undefined)[];

/** Several references to one table need what each of them needs: an unpinned key wins over values. */
function union(a: Keys, b: Keys): Keys {
  const out: Keys = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (x && y) out[key] = [...new Set([...x, ...y])];
  }
  return out;
}

/** What each catalog table the statement reads is fetched with: its keys, the columns read, the LIMIT bound. */
function readPlan(stmt: ParsedStatement, params: ParamValues, catalog: Catalog) {
  const reads = tableReads(stmt, catalog);
  const byTable = new Map<Table, Keys>();
  for (const read of reads) {
    const keys = resolveKeys(read, params);
    const seen = byTable.get(read.table);
    byTable.set(read.table, seen ? union(seen, keys) : keys);
  }
  // pg_stat_activity is the engine's view over cloud_control.sessions.
  const sessions = catalog.table('cloud_control', 'sessions');
  if (sessions && !byTable.has(sessions) && namesPgStatActivity(stmt.ast)) byTable.set(sessions, {});
  // A plain LIMIT over the statement's only table bounds what it can return.
  const limit = reads.length === 1 ? fetchLimit(stmt) : undefined;
  // The columns each table may be read for: a list that lacks them is filled in with GetResource.
  const columns = neededColumns(stmt.ast, [...byTable.keys()]);
  return [...byTable].map(([table, keys]) => ({
    table,
    keys: { ...keys, limit },
    columns: columns.get(table),
  }));
}

/**
 * EXPLAIN: the Cloud Control calls loading the statement's tables would make, one line each, none made; a
 * statement that would be refused before any call (no region, a list parent not pinned) is refused here too.
 */
export function callPlanFor(
  stmt: ParsedStatement,
  params: ParamValues,
  catalog: Catalog,
  cloud: CloudControl,
): string[] {
  if (returnsNoRows(stmt)) return ['Cloud Control: no call (the statement returns no rows)'];
  const lines: string[] = [];
  for (const { table, keys, columns } of readPlan(stmt, params, catalog)) {
    const calls = cloud.planRows(table, keys, columns);
    lines.push(
      `Cloud Control: ${table.schema}.${table.name}${calls.length === 0 ? ': no call' : ''}`,
      ...calls.map((c) => `  ${c}`),
    );
  }
  return lines;
}

/**
 * Fetches, from Cloud Control, the rows of every catalog table the statement reads; cloud_control.sessions's rows
 * are `sessionRows()`, the server's sessions now.
 */
export async function loadFor(
  stmt: ParsedStatement,
  params: ParamValues,
  catalog: Catalog,
  cloud: CloudControl,
  onNotice: (message: string) => void,
  signal: AbortSignal,
  sessionRows: () => Record<string, unknown>[] = () => [],
): Promise<EngineUnit['load']> {
  if (returnsNoRows(stmt)) return [];
  return Promise.all(
    readPlan(stmt, params, catalog).map(async ({ table, keys, columns }) => ({
      table: `${table.schema}.${table.name}`,
      rows:
        table.kind === 'sessions'
          ? sessionRows()
          : await cloud.fetchRows(table, keys, onNotice, signal, columns),
    })),
  );
}
