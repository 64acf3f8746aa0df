import type { Catalog, RequestsTable, ResourceTable, Table } from '../../catalog/types.js';
import { anyTypeView, servesAnyType } from '../cloudcontrol/any-type.js';
import { PgError, SqlState } from '../errors.js';
import { as, defElems, isObject, isTrue, list, type Body } from './ast.js';
import type { ParsedStatement } from './parse.js';
import { resolveRelation } from './table-reads.js';

export interface WriteTarget {
  table: ResourceTable;
  kind: 'insert' | 'update' | 'delete' | 'merge' | 'truncate';
  /** Inside a data-modifying WITH or an EXPLAIN ANALYZE rather than the statement itself. */
  nested: boolean;
}

const MODIFY: Record<string, WriteTarget['kind']> = {
  InsertStmt: 'insert',
  UpdateStmt: 'update',
  DeleteStmt: 'delete',
  MergeStmt: 'merge',
};

/**
 * Every catalog table this statement writes when it runs: its own target, data-modifying CTEs
 * (PostgreSQL allows them only at the top level), EXPLAIN ANALYZE's statement (it executes),
 * COPY ... FROM (inserts) and TRUNCATE. PREPARE and DECLARE bodies do not run here.
 * A write to a read-only table (cloud_control.resource_requests) is refused here: 0A000. A write to
 * cloud_control.resources targets its view of no type yet (server/cloudcontrol/any-type.ts).
 */
export function writeTargets(stmt: ParsedStatement, catalog: Catalog): WriteTarget[] {
  const out: WriteTarget[] = [];
  collect(stmt.ast, catalog, false, out);
  return out;
}

/** The statement's first write (its own target before nested ones), if it writes a catalog table. */
export function writeTarget(stmt: ParsedStatement, catalog: Catalog): WriteTarget | undefined {
  return writeTargets(stmt, catalog)[0];
}

function collect(node: unknown, catalog: Catalog, nested: boolean, out: WriteTarget[]): void {
  if (!isObject(node)) return;
  const [type, value] = Object.entries(node)[0] ?? [];
  if (!type || !isObject(value)) return;
  const body: Body = value;
  const add = (rel: unknown, kind: WriteTarget['kind']): void => {
    if (!isObject(rel)) return;
    for (const table of resolveRelation(rel, catalog)) {
      // cloud_control.resources: the type each row names is known once the engine has run the statement.
      if (servesAnyType(table))
        out.push({ table: anyTypeView(table as RequestsTable, '', catalog), kind, nested });
      else if (table.kind !== 'resource' && table.kind !== 'collection') throw readOnly(table, kind);
      else out.push({ table, kind, nested });
    }
  };
  if (MODIFY[type]) add(body.relation, MODIFY[type]);
  if (type === 'CopyStmt' && body.is_from) add(body.relation, 'insert');
  if (type === 'TruncateStmt') for (const rel of list(body.relations)) add(as(rel, 'RangeVar'), 'truncate');
  if (type === 'ExplainStmt' && isTrue(defElems(body.options).analyze))
    collect(body.query, catalog, true, out);
  const withClause = body.withClause;
  if (isObject(withClause)) {
    for (const cte of list(withClause.ctes))
      collect(as(cte, 'CommonTableExpr')?.ctequery, catalog, true, out);
  }
}

function readOnly(table: Table, kind: WriteTarget['kind']): PgError {
  return new PgError(
    SqlState.feature_not_supported,
    `cannot ${kind.toUpperCase()} ${table.schema}.${table.name}: it is read-only`,
    {
      ...(table.kind === 'requests'
        ? {
            detail:
              "It lists Cloud Control's resource requests; AWS keeps them for 7 days and no API changes them.",
            hint: 'Change resources through their own tables (INSERT, UPDATE or DELETE); their requests then appear here.',
          }
        : {
            detail: 'It lists the resource types this server serves, from its registry snapshot.',
            hint: 'Start the server with --types to serve other types.',
          }),
    },
  );
}
