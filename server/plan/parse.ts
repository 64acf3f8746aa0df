import { loadModule, parseSync, type ParseResult } from 'libpg-query';
import { PgError, SqlState } from '../errors.js';
import { LRUCache } from 'lru-cache';
import { statementKind, type StatementKind } from './kinds.js';
import { scanLiterals, type LiteralScan } from './literals.js';
import { SourceText, statementText } from './text.js';

export type { StatementKind } from './kinds.js';

let loading: Promise<void> | undefined;

/** Loads the WASM parser; every parse after this is synchronous. Safe to call more than once. */
export function loadParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

export interface ParsedStatement {
  /** The statement's own text, cut from the query string by its location (no trailing semicolon). */
  sql: string;
  /** The node, e.g. { SelectStmt: {...} }. */
  ast: Record<string, unknown>;
  kind: StatementKind;
  /**
   * For a statement taken from another text of its shape (markLiteralFree): `ast` is that text's tree, whose
   * literals may differ from this text's; these are this text's own.
   */
  literals?: LiteralScan;
}

/**
 * Query strings parsed before, with their statements: drivers send the same text for each execution (node-postgres
 * parses its unnamed statement every time), and parsing is about 0.1 ms of the main thread (1 ms for a long catalog
 * query). The statements are shared by every caller, so nothing may change them: code that rewrites a tree clones
 * it first (COPY FROM, the write path's RETURNING). Least recently used first out.
 *
 * Bounded by the texts' total length, not their number: a reflection sends a new text per table (SQLAlchemy's
 * inspect() of ec2: 386 distinct texts, 0.36 MB), which a bound of 256 texts evicted before their repeat. Measured
 * (4,000 SQLAlchemy, psql and pgjdbc catalog texts of 919 characters on average, after a GC): 14 bytes of heap per
 * character of text, tree included, so the 1 M characters kept cost about 14 MB.
 */
const parsedTexts = new Map<string, ParsedStatement[]>();
const maxParsedChars = 1_000_000;
let parsedChars = 0;
/** Longer texts (big IN lists, generated statements) are parsed each time rather than crowd out the others. */
const maxKeptLength = 32_768;

/**
 * Splits a (possibly multi-statement) query string. Throws PgError 42601 with PostgreSQL's message and
 * 1-based character position for a syntax error. Empty string or only comments -> [].
 */
export function parseStatements(sql: string): ParsedStatement[] {
  const known = parsedTexts.get(sql);
  if (known) {
    // Most recently used last: the first key is the one to evict.
    parsedTexts.delete(sql);
    parsedTexts.set(sql, known);
    return known;
  }
  let statements = sameShape(sql);
  if (!statements) {
    statements = parseText(sql);
    // The text of another string of its shape is then its trimmed string too (sameShape).
    if (statements.length === 1 && statements[0]!.sql === sql.trim()) wholeStrings.add(statements[0]!);
  }
  if (sql.length <= maxKeptLength) {
    // Frozen so that a caller changing what others share fails loudly (the trees are left as they are: no caller
    // changes them, and freezing every node would cost what the cache saves on a first parse).
    for (const stmt of statements) Object.freeze(stmt);
    Object.freeze(statements);
    parsedChars += sql.length;
    for (const oldest of parsedTexts.keys()) {
      if (parsedChars <= maxParsedChars) break;
      parsedTexts.delete(oldest);
      parsedChars -= oldest.length;
    }
    parsedTexts.set(sql, statements);
  }
  return statements;
}

/**
 * Statements whose handling up to the engine does not depend on their literals (the session says so: see
 * markLiteralFree), by their text's shape (literals.ts): another text of that shape is not parsed again, it takes the
 * tree of the first one (and with it whatever was learned from that tree: executor.ts, result-cache.ts). Only for a
 * query string of one statement that is the whole string, so its text is the trimmed string.
 */
const literalFreeShapes = new LRUCache<string, ParsedStatement>({
  maxSize: 1_000_000,
  sizeCalculation: (_, shape) => shape.length,
});
/** Statements that are their query string's only one and the whole of it, trimmed. */
const wholeStrings = new WeakSet<ParsedStatement>();

/** The statement of `sql` taken from an earlier text of its shape, if one was marked literal-free. */
function sameShape(sql: string): ParsedStatement[] | undefined {
  if (literalFreeShapes.size === 0 || sql.length > maxKeptLength) return undefined;
  const text = sql.trim();
  const literals = scanLiterals(text);
  const known = literals && literalFreeShapes.get(literals.shape);
  if (!known) return undefined;
  return [{ sql: text, ast: known.ast, kind: known.kind, literals }];
}

/**
 * Marks a statement whose handling before the engine (which tables to load, direct reads, set_config calls, plan)
 * was found to depend on nothing its literals hold: texts of its shape take its tree from now on (sameShape).
 * Literal values that do matter (a date/time word read at the moment: result-cache.ts) are checked per text.
 */
export function markLiteralFree(stmt: ParsedStatement): void {
  if (stmt.literals || !wholeStrings.has(stmt) || stmt.sql.length > maxKeptLength) return;
  const literals = scanLiterals(stmt.sql);
  if (literals && !literalFreeShapes.has(literals.shape)) literalFreeShapes.set(literals.shape, stmt);
}

function parseText(sql: string): ParsedStatement[] {
  if (sql.trim() === '') return [];
  let result: ParseResult;
  try {
    result = parseSync(sql);
  } catch (err) {
    throw toPgError(err);
  }
  const source = new SourceText(sql);
  return (result.stmts ?? []).map((raw) => {
    const ast = raw.stmt as unknown as Record<string, unknown>;
    const start = raw.stmt_location ?? 0;
    // The last statement carries no length: it runs to the end of the string.
    const end = raw.stmt_len ? start + raw.stmt_len : source.byteLength;
    return { sql: statementText(source, start, end), ast, kind: statementKind(ast) };
  });
}

/** Wraps a node that is not a top-level statement of the string (a DECLARE's query, say). */
export function statementOf(ast: Record<string, unknown>, sql: string): ParsedStatement {
  return { sql, ast, kind: statementKind(ast) };
}

function toPgError(err: unknown): unknown {
  const details = (err as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
  if (!details?.message) return err;
  // The few grammar errors that PostgreSQL raises as "not supported" rather than as syntax errors.
  const code = / is not supported$/.test(details.message)
    ? SqlState.feature_not_supported
    : SqlState.syntax_error;
  const at = details.cursorPosition;
  // libpg-query reports a 0-based character offset; PostgreSQL's ErrorResponse position is 1-based.
  return new PgError(code, details.message, at !== undefined && at >= 0 ? { position: at + 1 } : {});
}
