import type { Catalog, ResourceTable, Table } from '../../catalog/types.js';
import { needsGet, type CloudControl, type ReadOptions } from '../cloudcontrol/client.js';
import type { Row } from '../cloudcontrol/rows.js';
import type { TracedRead } from '../cloudcontrol/trace.js';
import type { EngineUnit } from '../engine/engine.js';
import type { ParsedStatement } from '../plan/parse.js';
import { namesPgStatActivity } from '../plan/activity.js';
import { neededColumns, type NeededColumns } from '../plan/columns.js';
import { fetchLimit } from '../plan/fetch-limit.js';
import { returnsNoRows } from '../plan/no-rows.js';
import {
  resolveKeys,
  rowsKeys,
  tableReads,
  type KeyColumn,
  type TableRead,
  type ResolvedKeys as Keys,
  type RowsKey,
} from '../plan/table-reads.js';

/**
 * Parameter values as text, by position; `undefined` where the value is not known before execution
 * (an EXECUTE argument that is an expression), which leaves any key that uses it unpinned.
 */
export type ParamValues = (string | null | undefined)[];

/** Runs a query in the engine over loaded rows (the session's settings apply) and returns its rows as text. */
export type Evaluate = (load: EngineUnit['load'], sql: string) => Promise<(string | null)[][]>;

/**
 * More distinct keys than this from another table's rows: read as without them. Each key is a GetResource, so
 * past some count one list (and a read of each listed resource) costs less, and fetching more is only slower.
 */
export const maxRowsKeys = 500;

/** One reference to a table: the keys known now, and those another table's rows give. */
interface ReadKeys {
  fixed: Keys;
  rows: Partial<Record<KeyColumn, RowsKey>>;
}

interface TablePlan {
  table: Table;
  columns: NeededColumns;
  limit?: number;
  reads: ReadKeys[];
}

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

const isTyped = (table: Table): table is ResourceTable =>
  table.kind === 'resource' || table.kind === 'collection';

/**
 * What each catalog table the statement reads is fetched with: its keys (those from other tables' rows too),
 * the columns read, the LIMIT bound. Keys from rows form no cycle: one is dropped (read as without it) until none.
 */
function readPlan(stmt: ParsedStatement, params: ParamValues, catalog: Catalog): TablePlan[] {
  const shape = readShapeOf(stmt, catalog);
  // A statement that reads no catalog table (the catalog queries of BI tools) needs nothing more.
  if (shape.tables.length === 0) return [];
  const byTable = new Map<Table, ReadKeys[]>();
  shape.reads.forEach((read, i) => {
    const reads = byTable.get(read.table) ?? [];
    reads.push({ fixed: resolveKeys(read, params), rows: shape.rows[i]! });
    byTable.set(read.table, reads);
  });
  if (shape.sessions) byTable.set(shape.sessions, [{ fixed: {}, rows: {} }]);
  const plans = [...byTable].map(([table, tableReads]) => ({
    table,
    columns: shape.columns.get(table) ?? 'all',
    ...(shape.limit !== undefined ? { limit: shape.limit } : {}),
    reads: keepUseful(tableReads, byTable),
  }));
  breakCycles(plans);
  return plans;
}

/** What a statement's read plan takes from its tree and the catalog alone: all of it but the parameters' values. */
interface ReadShape {
  catalog: Catalog;
  reads: TableRead[];
  /** Per read, its keys from other tables' rows (never from its own table's). */
  rows: Partial<Record<KeyColumn, RowsKey>>[];
  /** cloud_control.sessions, when the statement reads it only through pg_stat_activity (the engine's view over it). */
  sessions?: Table;
  /** Every table read, in the order the plan lists them. */
  tables: Table[];
  /** A plain LIMIT over the statement's only table bounds what it can return. */
  limit?: number;
  /** The columns each table may be read for: a list that lacks them is filled in with GetResource. */
  columns: Map<Table, NeededColumns>;
}

/**
 * Each parsed statement's read shape, kept with the statement: the parse cache hands out the same frozen statement
 * for each repeat of a text, so a repeat walks nothing (the tree walks were about 40 microseconds of a point read).
 * Parameter values are applied afterwards (resolveKeys), and nothing changes a shape once made.
 */
const shapes = new WeakMap<ParsedStatement, ReadShape>();

function readShapeOf(stmt: ParsedStatement, catalog: Catalog): ReadShape {
  const known = shapes.get(stmt);
  if (known?.catalog === catalog) return known;
  const reads = tableReads(stmt, catalog);
  const rows = reads.map((read) => {
    const keys = isTyped(read.table) ? rowsKeys(read) : {};
    for (const [column, key] of Object.entries(keys)) if (key?.source === read.table) delete keys[column];
    return keys;
  });
  const tables = [...new Set(reads.map((r) => r.table))];
  // pg_stat_activity is the engine's view over cloud_control.sessions.
  const sessionsTable = catalog.table('cloud_control', 'sessions');
  const sessions =
    sessionsTable && !tables.includes(sessionsTable) && namesPgStatActivity(stmt) ? sessionsTable : undefined;
  if (sessions) tables.push(sessions);
  const limit = tables.length > 0 && reads.length === 1 ? fetchLimit(stmt) : undefined;
  const shape: ReadShape = {
    catalog,
    reads,
    rows,
    ...(sessions ? { sessions } : {}),
    tables,
    ...(limit !== undefined ? { limit } : {}),
    columns: tables.length > 0 ? neededColumns(stmt.ast, tables) : new Map(),
  };
  // Only the parse cache's statements are frozen: others (a DECLARE's query, a rewritten tree) are made afresh.
  if (Object.isFrozen(stmt)) shapes.set(stmt, shape);
  return shape;
}

/** A key from rows narrows the fetch only when every reference pins that column; its source must be read too. */
function keepUseful(reads: ReadKeys[], byTable: Map<Table, ReadKeys[]>): ReadKeys[] {
  const pinnedByAll = (column: string) => reads.every((r) => r.fixed[column] || r.rows[column]);
  return reads.map(({ fixed, rows }) => ({
    fixed,
    rows: Object.fromEntries(
      Object.entries(rows).filter(([column, key]) => pinnedByAll(column) && byTable.has(key!.source)),
    ),
  }));
}

const sourcesOf = (plan: TablePlan): Set<Table> =>
  new Set(plan.reads.flatMap((r) => Object.values(r.rows).map((k) => k!.source)));

/**
 * `p.region = f.region` pins each by the other: while tables wait on each other, the one whose keys from rows
 * matter least (no identifier among them, fewest) reads as without them.
 */
function breakCycles(plans: TablePlan[]): void {
  for (;;) {
    const done = new Set(plans.filter((p) => sourcesOf(p).size === 0).map((p) => p.table));
    let grew = true;
    while (grew) {
      grew = false;
      for (const p of plans)
        if (!done.has(p.table) && [...sourcesOf(p)].every((t) => done.has(t))) {
          done.add(p.table);
          grew = true;
        }
    }
    const stuck = plans.filter((p) => !done.has(p.table));
    if (stuck.length === 0) return;
    const weight = (p: TablePlan) =>
      p.reads.reduce((n, r) => n + Object.keys(r.rows).length + (r.rows.data__identifier ? 100 : 0), 0);
    const victim = stuck.reduce((a, b) => (weight(b) < weight(a) ? b : a));
    for (const r of victim.reads) r.rows = {};
  }
}

/** The keys known now for a table, with every key from rows left unpinned. */
function fixedKeys(plan: TablePlan): Keys {
  return plan.reads.map((r) => r.fixed).reduce(union);
}

const hasRowsKeys = (plan: TablePlan): boolean => sourcesOf(plan).size > 0;

/**
 * EXPLAIN: the Cloud Control calls loading the statement's tables would make, one line each, none made; a
 * statement that would be refused before any call (no region, a list parent not pinned) is refused here too.
 */
export function callPlanFor(
  stmt: ParsedStatement,
  params: ParamValues,
  catalog: Catalog,
  cloud: CloudControl,
  /** The session's aws.cache_ttl where it is not the server's: whether the cache would serve a call. */
  acceptedAgeMs?: number,
): string[] {
  if (returnsNoRows(stmt)) return ['Cloud Control: no call (the statement returns no rows)'];
  const lines: string[] = [];
  for (const plan of readPlan(stmt, params, catalog)) {
    const { table, columns, limit } = plan;
    const calls = hasRowsKeys(plan)
      ? rowsKeyPlan(plan)
      : cloud.planRows(table, { ...fixedKeys(plan), limit }, columns, acceptedAgeMs);
    lines.push(
      `Cloud Control: ${table.schema}.${table.name}${calls.length === 0 ? ': no call' : ''}`,
      ...calls.map((c) => `  ${c}`),
    );
  }
  return lines;
}

/** EXPLAIN of a table pinned by other tables' rows: which keys, then the calls made per key. */
function rowsKeyPlan(plan: TablePlan): string[] {
  const table = plan.table as ResourceTable;
  const typeName = table.resource.typeName;
  const lines: string[] = [];
  for (const read of plan.reads) {
    for (const [from, keys] of groupBySource(read.rows)) {
      const source = keys[0]![1].source;
      const pins = keys.map(([column, key]) => `${column} = ${key.expr}`).join(', ');
      lines.push(`keys from ${source.schema}.${source.name} (${from}): ${pins}`);
    }
    for (const [column, values] of Object.entries(read.fixed))
      lines.push(`keys: ${column} IN (${values!.map((v) => JSON.stringify(v)).join(', ')})`);
  }
  const pinned = (column: string) => plan.reads.every((r) => r.fixed[column] || r.rows[column]);
  const parts = table.resource.definition.primaryIdentifier
    .map((name) => table.resource.propertyByName(name)?.column)
    .filter((c): c is string => c !== undefined);
  const identified = pinned('data__identifier') || (parts.length > 1 && parts.every(pinned));
  const where = pinned('region') ? "in each key's region" : 'in each region';
  const sources = [...sourcesOf(plan)].map((t) => `${t.schema}.${t.name}`).join(', ');
  const after = `after ${sources} is read, over ${maxRowsKeys} keys read as without them`;
  if (table.kind === 'resource' && identified)
    return [...lines, `  GetResource ${typeName} per distinct key, ${where} (${after})`];
  const hydrate = table.kind === 'resource' || needsGet(table, plan.columns);
  return [
    ...lines,
    `  ListResources ${typeName} ${where} (all pages; ${after})`,
    ...(hydrate
      ? [`    then GetResource ${typeName} for each resource listed${identified ? ' that has a key' : ''}`]
      : []),
  ];
}

function groupBySource(rows: ReadKeys['rows']): Map<string, [KeyColumn, RowsKey][]> {
  const groups = new Map<string, [KeyColumn, RowsKey][]>();
  for (const [column, key] of Object.entries(rows)) {
    const id = `${key!.source.schema}.${key!.source.name} ${key!.from}`;
    groups.set(id, [...(groups.get(id) ?? []), [column, key!]]);
  }
  return new Map([...groups.values()].map((g) => [g[0]![1].from, g]));
}

/** What loading found: the rows per table, and (EXPLAIN ANALYZE) the reads each table's fetch made. */
export interface Loaded {
  load: EngineUnit['load'];
  traces: { table: Table; ms: number; keys?: number; reads: TracedRead[] }[];
}

/**
 * Fetches, from Cloud Control, the rows of every catalog table the statement reads. A table pinned by another's
 * rows is fetched once those are: `evaluate` computes its keys over them in the engine; when that fails or gives
 * more than maxRowsKeys keys, it is read as without them. cloud_control.sessions's rows are `sessionRows()`, the
 * server's sessions now.
 */
export async function loadFor(
  stmt: ParsedStatement,
  params: ParamValues,
  catalog: Catalog,
  cloud: CloudControl,
  onNotice: (message: string) => void,
  signal: AbortSignal,
  evaluate: Evaluate,
  sessionRows: () => Row[] = () => [],
  options: ReadOptions = {},
): Promise<Loaded> {
  if (returnsNoRows(stmt)) return { load: [], traces: [] };
  const fetched = new Map<Table, Row[]>();
  const traces: Loaded['traces'] = [];
  let pending = readPlan(stmt, params, catalog);
  const readOne = async (plan: TablePlan): Promise<void> => {
    const reads: TracedRead[] = [];
    const started = performance.now();
    const traced = { ...options, context: { ...options.context, trace: reads } };
    const { rows, keys } =
      plan.table.kind === 'sessions'
        ? { rows: sessionRows(), keys: undefined }
        : await fetchPlanned(plan, fetched, cloud, onNotice, signal, evaluate, traced);
    fetched.set(plan.table, rows);
    traces.push({ table: plan.table, ms: performance.now() - started, keys, reads });
  };
  while (pending.length > 0) {
    const ready = pending.filter((p) => [...sourcesOf(p)].every((t) => fetched.has(t)));
    pending = pending.filter((p) => !ready.includes(p));
    // One table (a point read's): no Promise.all over one.
    await (ready.length === 1 ? readOne(ready[0]!) : Promise.all(ready.map(readOne)));
  }
  return {
    load: [...fetched].map(([table, rows]) => ({ table: `${table.schema}.${table.name}`, rows })),
    traces,
  };
}

async function fetchPlanned(
  plan: TablePlan,
  fetched: Map<Table, Row[]>,
  cloud: CloudControl,
  onNotice: (message: string) => void,
  signal: AbortSignal,
  evaluate: Evaluate,
  options: ReadOptions,
): Promise<{ rows: Row[]; keys?: number }> {
  const { table, columns, limit } = plan;
  const fetch = (keys: Keys) =>
    cloud.fetchRows(table, { ...keys, limit }, onNotice, signal, columns, options);
  if (!hasRowsKeys(plan)) return { rows: await fetch(fixedKeys(plan)) };
  const perRead = await Promise.all(plan.reads.map((r) => keySets(r, fetched, signal, evaluate)));
  const counted = perRead.every((sets) => sets.keys !== undefined);
  const keys = counted ? perRead.reduce((n, s) => n + s.keys!, 0) : undefined;
  // One reference: its sets are disjoint (one per region), so their rows are too. Several: one fetch of the union.
  const sets =
    perRead.length === 1 ? perRead[0]!.sets : [perRead.map((s) => s.sets.reduce(merge)).reduce(union)];
  const rows = (await Promise.all(sets.map(fetch))).flat();
  return { rows, ...(keys !== undefined ? { keys } : {}) };
}

/** Values of each pinned column across key sets that pin the same columns. */
function merge(a: Keys, b: Keys): Keys {
  const out: Keys = {};
  for (const key of Object.keys(a)) out[key] = [...new Set([...a[key]!, ...(b[key] ?? [])])];
  return out;
}

/**
 * The key sets one reference is fetched with (each set: every combination of its values). Keys from one source
 * that include region are grouped by region, so an identifier is read only in the regions it was found in.
 */
async function keySets(
  read: ReadKeys,
  fetched: Map<Table, Row[]>,
  signal: AbortSignal,
  evaluate: Evaluate,
): Promise<{ sets: Keys[]; keys?: number }> {
  const groups = [...groupBySource(read.rows).values()];
  const evaluated = await Promise.all(
    groups.map(async (group) => {
      const { source, from } = group[0]![1];
      const exprs = group.map(([, key]) => `(${key.expr})::text`);
      // NULL equals nothing.
      const known = exprs.map((e) => `${e} IS NOT NULL`).join(' AND ');
      const sql = `SELECT DISTINCT ${exprs.join(', ')} FROM ${from} WHERE ${known} LIMIT ${maxRowsKeys + 1}`;
      try {
        const tuples = await evaluate(
          [{ table: `${source.schema}.${source.name}`, rows: fetched.get(source) ?? [] }],
          sql,
        );
        const keys = tuples as string[][];
        return keys.length > maxRowsKeys ? undefined : { columns: group.map(([c]) => c), keys };
      } catch {
        if (signal.aborted) throw signal.reason;
        return undefined;
      }
    }),
  );
  if (evaluated.some((e) => e === undefined)) return { sets: [read.fixed] };
  const done = evaluated as { columns: KeyColumn[]; keys: string[][] }[];
  const count = done.reduce((n, g) => n * g.keys.length, 1);
  const valuesOf = (g: { columns: KeyColumn[]; keys: string[][] }): Keys =>
    Object.fromEntries(g.columns.map((c, i) => [c, [...new Set(g.keys.map((t) => t[i]!))]]));
  const byRegion = done.length === 1 && done[0]!.columns.includes('region') && done[0]!.columns.length > 1;
  if (!byRegion) return { sets: [Object.assign({}, read.fixed, ...done.map(valuesOf)) as Keys], keys: count };
  const group = done[0]!;
  const at = group.columns.indexOf('region');
  const regions = [...new Set(group.keys.map((t) => t[at]!))];
  const sets = regions.map((region) => ({
    ...read.fixed,
    ...valuesOf({ columns: group.columns, keys: group.keys.filter((t) => t[at] === region) }),
  }));
  // No key: nothing can match; an empty set fetches nothing.
  return { sets: sets.length > 0 ? sets : [{ ...read.fixed, ...valuesOf(group) }], keys: count };
}

/**
 * EXPLAIN ANALYZE: per table read, its wall time and Cloud Control calls, then per operation, type and region
 * the reads made: sent (their pages), answered by the read cache, or joined to an identical read in flight.
 */
export function analyzeLines(traces: Loaded['traces']): string[] {
  if (traces.length === 0) return ['Cloud Control: no call'];
  const lines: string[] = [];
  for (const { table, ms, keys, reads } of traces) {
    const calls = reads.reduce((n, r) => n + (r.outcome === 'sent' ? (r.pages ?? 1) : 0), 0);
    const keyNote = keys === undefined ? '' : `, keys from other tables' rows=${keys}`;
    lines.push(
      `Cloud Control: ${table.schema}.${table.name} (actual time=${ms.toFixed(1)} ms, calls=${calls}${keyNote})`,
    );
    const groups = new Map<string, TracedRead[]>();
    for (const r of reads) {
      const id = `${r.operation} ${r.typeName} in ${r.region}`;
      groups.set(id, [...(groups.get(id) ?? []), r]);
    }
    for (const [id, group] of groups) {
      const sent = group.filter((r) => r.outcome === 'sent');
      const count = (outcome: TracedRead['outcome']) => group.filter((r) => r.outcome === outcome).length;
      const pages = sent.reduce((n, r) => n + (r.pages ?? 0), 0);
      const missing = group.filter((r) => r.found === false).length;
      const times = sent.map((r) => r.ms);
      const parts = [
        `${sent.length} sent${pages > sent.length ? ` (${pages} pages)` : ''}`,
        ...(count('cached') > 0 ? [`${count('cached')} cached`] : []),
        ...(count('joined') > 0 ? [`${count('joined')} joined an identical call in flight`] : []),
        ...(missing > 0 ? [`${missing} not found`] : []),
        ...(times.length > 0
          ? [`${Math.min(...times).toFixed(1)}..${Math.max(...times).toFixed(1)} ms each`]
          : []),
      ];
      lines.push(`  ${id}: ${parts.join(', ')}`);
    }
  }
  return lines;
}
