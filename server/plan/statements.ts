import { deparseSync } from 'pgsql-parser';
import { as, constValue, defElems, isTrue, list, type Body } from './ast.js';
import { TRANSACTION_KINDS, type TransactionKind } from './kinds.js';
import { nestedStatement } from './nested.js';
import type { ParsedStatement } from './parse.js';

import { transactionModes } from './set.js';

export { setOf, type SetInfo } from './set.js';

function body(stmt: ParsedStatement, type: string): Body {
  const b = as(stmt.ast, type);
  if (!b) throw new TypeError(`expected a ${type}, got ${Object.keys(stmt.ast)[0]}`);
  return b;
}

function deparse(node: unknown): string {
  return deparseSync(node as never, { pretty: false }).trim();
}

export interface TransactionInfo {
  kind: TransactionKind;
  /** Savepoint name, or the GID of PREPARE TRANSACTION / COMMIT PREPARED / ROLLBACK PREPARED. */
  name?: string;
  /** As PostgreSQL spells the level: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'. */
  isolation?: string;
  readOnly?: boolean;
  deferrable?: boolean;
  /** COMMIT AND CHAIN / ROLLBACK AND CHAIN. */
  chain?: boolean;
}

export function transactionOf(stmt: ParsedStatement): TransactionInfo {
  const b = body(stmt, 'TransactionStmt');
  const info: TransactionInfo = { kind: TRANSACTION_KINDS[String(b.kind)] ?? 'begin' };
  const name = b.savepoint_name ?? b.gid;
  if (typeof name === 'string') info.name = name;
  if (b.chain) info.chain = true;
  Object.assign(info, transactionModes(b.options));
  return info;
}

export interface PrepareInfo {
  name: string;
  /** Declared parameter types as SQL type names (deparsed: `text`, `int[]`, `varchar(3)`); may be empty. */
  paramTypes: string[];
  query: ParsedStatement;
}

export function prepareOf(stmt: ParsedStatement): PrepareInfo {
  const b = body(stmt, 'PrepareStmt');
  return {
    name: String(b.name ?? ''),
    paramTypes: list(b.argtypes).map(deparse),
    query: nestedStatement(stmt, b.query as Body),
  };
}

export interface ExecuteInfo {
  name: string;
  /** SQL text of each argument expression, deparsed. */
  params: string[];
  /**
   * Each argument's value when it is a constant (possibly cast): its text, null for NULL, undefined
   * for any other expression. Pass to resolveKeys for the prepared query's reads.
   */
  values: (string | null | undefined)[];
}

export function executeOf(stmt: ParsedStatement): ExecuteInfo {
  const b = body(stmt, 'ExecuteStmt');
  const args = list(b.params);
  return { name: String(b.name ?? ''), params: args.map(deparse), values: args.map(constantText) };
}

function constantText(node: unknown): string | null | undefined {
  const cast = as(node, 'TypeCast');
  const c = constValue(cast ? cast.arg : node);
  if (!c) return undefined;
  return c.type === 'null' ? null : String(c.value);
}

export function deallocateOf(stmt: ParsedStatement): { name: string | null } {
  const b = body(stmt, 'DeallocateStmt');
  return { name: b.isall || typeof b.name !== 'string' ? null : b.name };
}

// CURSOR_OPT_* bits of parsenodes.h.
const CURSOR_BINARY = 0x1;
const CURSOR_SCROLL = 0x2;
const CURSOR_NO_SCROLL = 0x4;
const CURSOR_HOLD = 0x20;

export interface DeclareInfo {
  name: string;
  query: ParsedStatement;
  scroll: boolean;
  /** NO SCROLL was written (PostgreSQL then refuses backward fetches even for simple plans). */
  noScroll: boolean;
  hold: boolean;
  binary: boolean;
}

export function declareOf(stmt: ParsedStatement): DeclareInfo {
  const b = body(stmt, 'DeclareCursorStmt');
  const options = Number(b.options ?? 0);
  return {
    name: String(b.portalname ?? ''),
    query: nestedStatement(stmt, b.query as Body),
    scroll: (options & CURSOR_SCROLL) !== 0,
    noScroll: (options & CURSOR_NO_SCROLL) !== 0,
    hold: (options & CURSOR_HOLD) !== 0,
    binary: (options & CURSOR_BINARY) !== 0,
  };
}

export interface FetchInfo {
  name: string;
  direction: 'forward' | 'backward' | 'absolute' | 'relative';
  /** Rows for forward/backward, the position for absolute/relative. NEXT = forward 1, PRIOR = backward 1,
   * FIRST = absolute 1, LAST = absolute -1. */
  count: number | 'all';
  move: boolean;
}

const FETCH_DIRECTION: Record<string, FetchInfo['direction']> = {
  FETCH_FORWARD: 'forward',
  FETCH_BACKWARD: 'backward',
  FETCH_ABSOLUTE: 'absolute',
  FETCH_RELATIVE: 'relative',
};

// FETCH ALL is LONG_MAX in the parser, which is 2^31-1 in this 32-bit WASM build.
const FETCH_ALL = 2147483647;

export function fetchOf(stmt: ParsedStatement): FetchInfo {
  const b = body(stmt, 'FetchStmt');
  let direction = FETCH_DIRECTION[String(b.direction)] ?? 'forward';
  let howMany = Number(b.howMany ?? 0);
  // `FETCH -2` is FORWARD -2; PostgreSQL runs it as BACKWARD 2.
  if (howMany < 0 && (direction === 'forward' || direction === 'backward')) {
    direction = direction === 'forward' ? 'backward' : 'forward';
    howMany = -howMany;
  }
  const relativeMove = direction === 'forward' || direction === 'backward';
  return {
    name: String(b.portalname ?? ''),
    direction,
    count: relativeMove && howMany >= FETCH_ALL ? 'all' : howMany,
    move: Boolean(b.ismove),
  };
}

export function closeOf(stmt: ParsedStatement): { name: string | null } {
  const b = body(stmt, 'ClosePortalStmt');
  return { name: typeof b.portalname === 'string' ? b.portalname : null };
}

const DISCARD_TARGET: Record<string, 'all' | 'plans' | 'sequences' | 'temp'> = {
  DISCARD_ALL: 'all',
  DISCARD_PLANS: 'plans',
  DISCARD_SEQUENCES: 'sequences',
  DISCARD_TEMP: 'temp',
};

export function discardOf(stmt: ParsedStatement): { target: 'all' | 'plans' | 'sequences' | 'temp' } {
  return { target: DISCARD_TARGET[String(body(stmt, 'DiscardStmt').target)] ?? 'all' };
}

export interface ExplainInfo {
  query: ParsedStatement;
  analyze: boolean;
  /** Every option, lower-cased name -> value (`true` when written without a value). */
  options: Record<string, string | true>;
}

export function explainOf(stmt: ParsedStatement): ExplainInfo {
  const b = body(stmt, 'ExplainStmt');
  const options = defElems(b.options);
  return { query: nestedStatement(stmt, b.query as Body), analyze: isTrue(options.analyze), options };
}

export interface CopyInfo {
  /** COPY (query) TO ... */
  query?: ParsedStatement;
  /** COPY table: the name as written, qualified when it was (`appflow.connector_profiles`). */
  relation?: string;
  /** The relation's parts, for catalog lookup. */
  relationName?: { catalog?: string; schema?: string; name: string };
  columns: string[];
  isFrom: boolean;
  toStdout: boolean;
  fromStdin: boolean;
  /** A server-side file or program (COPY ... TO '/path', PROGRAM 'cmd'); never allowed here. */
  filename?: string;
  program: boolean;
  options: Record<string, string | true>;
}

export function copyOf(stmt: ParsedStatement): CopyInfo {
  const b = body(stmt, 'CopyStmt');
  const isFrom = Boolean(b.is_from);
  const program = Boolean(b.is_program);
  const filename = typeof b.filename === 'string' ? b.filename : undefined;
  const onClient = filename === undefined && !program;
  const info: CopyInfo = {
    columns: list(b.attlist).map((n) => String(as(n, 'String')?.sval ?? '')),
    isFrom,
    toStdout: onClient && !isFrom,
    fromStdin: onClient && isFrom,
    program,
    options: defElems(b.options),
  };
  if (filename !== undefined) info.filename = filename;
  if (b.query) info.query = nestedStatement(stmt, b.query as Body);
  const rel = b.relation as Body | undefined;
  if (rel) {
    const parts = [rel.catalogname, rel.schemaname, rel.relname].filter(
      (p): p is string => typeof p === 'string',
    );
    info.relation = parts.join('.');
    info.relationName = { name: String(rel.relname ?? '') };
    if (typeof rel.schemaname === 'string') info.relationName.schema = rel.schemaname;
    if (typeof rel.catalogname === 'string') info.relationName.catalog = rel.catalogname;
  }
  return info;
}

/** SHOW name (lower-cased; `all` for SHOW ALL; `timezone` for SHOW TIME ZONE). */
export function showOf(stmt: ParsedStatement): { name: string } {
  return { name: String(body(stmt, 'VariableShowStmt').name ?? '').toLowerCase() };
}
