/**
 * plan: the real PostgreSQL 18 parser over each query string, the details the session needs from each
 * statement, and which catalog tables a statement reads (with the keys it pins) or writes.
 */
export {
  loadParser,
  parseStatements,
  statementOf,
  type ParsedStatement,
  type StatementKind,
} from './parse.js';
export * from './statements.js';
export { resolveKeys, tableReads, type KeyExpr, type TableRead } from './table-reads.js';
export { writeTarget, writeTargets, type WriteTarget } from './writes.js';
