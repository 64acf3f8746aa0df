/** What the session dispatches on. */
export type StatementKind =
  | 'select'
  | 'insert'
  | 'update'
  | 'delete'
  | 'merge'
  | TransactionKind
  | 'set'
  | 'reset'
  | 'show'
  | 'prepare'
  | 'execute'
  | 'deallocate'
  | 'declare'
  | 'fetch'
  | 'move'
  | 'close'
  | 'discard'
  | 'explain'
  | 'copy'
  | 'listen'
  | 'unlisten'
  | 'notify'
  | 'truncate'
  | 'lock'
  | 'do'
  | 'call'
  | 'ddl'
  | 'other';

export type TransactionKind =
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'savepoint'
  | 'release'
  | 'rollback_to'
  | 'prepare_transaction'
  | 'commit_prepared'
  | 'rollback_prepared';

/** TransactionStmt.kind -> the statement kind; statements.ts reads the same map for transactionOf(). */
export const TRANSACTION_KINDS: Record<string, TransactionKind> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release',
  TRANS_STMT_ROLLBACK_TO: 'rollback_to',
  TRANS_STMT_PREPARE: 'prepare_transaction',
  TRANS_STMT_COMMIT_PREPARED: 'commit_prepared',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback_prepared',
};

const SIMPLE_KINDS: Record<string, StatementKind> = {
  SelectStmt: 'select',
  InsertStmt: 'insert',
  UpdateStmt: 'update',
  DeleteStmt: 'delete',
  MergeStmt: 'merge',
  VariableShowStmt: 'show',
  PrepareStmt: 'prepare',
  ExecuteStmt: 'execute',
  DeallocateStmt: 'deallocate',
  DeclareCursorStmt: 'declare',
  ClosePortalStmt: 'close',
  DiscardStmt: 'discard',
  ExplainStmt: 'explain',
  CopyStmt: 'copy',
  ListenStmt: 'listen',
  UnlistenStmt: 'unlisten',
  NotifyStmt: 'notify',
  TruncateStmt: 'truncate',
  LockStmt: 'lock',
  DoStmt: 'do',
  CallStmt: 'call',
};

// Schema-changing statements whose node names do not start with Create/Alter/Drop.
const OTHER_DDL = new Set([
  'IndexStmt',
  'ViewStmt',
  'RenameStmt',
  'CommentStmt',
  'SecLabelStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'DefineStmt',
  'CompositeTypeStmt',
  'RuleStmt',
  'ImportForeignSchemaStmt',
  'ReassignOwnedStmt',
  'RefreshMatViewStmt',
  'ReindexStmt',
  'ClusterStmt',
]);

/** The node's type name: `{ SelectStmt: {...} }` -> `SelectStmt`. */
export function nodeType(ast: Record<string, unknown>): string {
  return Object.keys(ast)[0] ?? '';
}

export function statementKind(ast: Record<string, unknown>): StatementKind {
  const type = nodeType(ast);
  const body = ast[type] as Record<string, unknown>;
  if (type === 'TransactionStmt') return TRANSACTION_KINDS[String(body.kind)] ?? 'other';
  if (type === 'VariableSetStmt') {
    return body.kind === 'VAR_RESET' || body.kind === 'VAR_RESET_ALL' ? 'reset' : 'set';
  }
  if (type === 'FetchStmt') return body.ismove ? 'move' : 'fetch';
  const simple = SIMPLE_KINDS[type];
  if (simple) return simple;
  if (/^(Create|Alter|Drop)/.test(type) || OTHER_DDL.has(type)) return 'ddl';
  return 'other';
}
