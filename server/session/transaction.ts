import { PgError, SqlState } from '../errors.js';

/** ReadyForQuery's transaction status: idle, in a transaction block, in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E';

/**
 * The transaction block as the client sees it. Reads are live and writes cannot be rolled back at Cloud
 * Control, so a block has no effect on data; it still behaves as PostgreSQL's does (statuses, savepoints,
 * 25P02 after an error) because clients depend on it.
 */
export class TransactionBlock {
  status: TransactionStatus = 'I';
  /** BEGIN READ ONLY, SET TRANSACTION READ ONLY, or default_transaction_read_only at BEGIN. */
  readOnly = false;
  private savepoints: string[] = [];

  get inBlock(): boolean {
    return this.status !== 'I';
  }

  /** Returns a warning when a block is already open, as PostgreSQL does. */
  begin(readOnly = false): string | undefined {
    if (this.inBlock) return 'there is already a transaction in progress';
    this.status = 'T';
    this.readOnly = readOnly;
    this.savepoints = [];
    return undefined;
  }

  /** COMMIT of a failed block is a ROLLBACK; the tag says so. */
  commit(): { tag: string; warning?: string } {
    if (!this.inBlock) return { tag: 'COMMIT', warning: 'there is no transaction in progress' };
    const failed = this.status === 'E';
    this.end();
    return { tag: failed ? 'ROLLBACK' : 'COMMIT' };
  }

  rollback(): { warning?: string } {
    if (!this.inBlock) return { warning: 'there is no transaction in progress' };
    this.end();
    return {};
  }

  savepoint(name: string): void {
    this.requireBlock('SAVEPOINT');
    this.savepoints.push(name);
  }

  release(name: string): void {
    this.requireBlock('RELEASE SAVEPOINT');
    const i = this.savepoints.lastIndexOf(name);
    if (i < 0) throw new PgError('3B001', `savepoint "${name}" does not exist`);
    this.savepoints.length = i;
  }

  rollbackTo(name: string): void {
    this.requireBlock('ROLLBACK TO SAVEPOINT');
    const i = this.savepoints.lastIndexOf(name);
    if (i < 0) throw new PgError('3B001', `savepoint "${name}" does not exist`);
    this.savepoints.length = i + 1;
    this.status = 'T';
  }

  /** An error inside a block leaves it failed until ROLLBACK. */
  fail(): void {
    if (this.inBlock) this.status = 'E';
  }

  /** Refuses statements in a failed block, as PostgreSQL does, except those that end or rewind it. */
  checkNotFailed(kind: string | undefined): void {
    if (this.status === 'E' && kind !== 'commit' && kind !== 'rollback' && kind !== 'rollback_to')
      throw new PgError(
        SqlState.in_failed_sql_transaction,
        'current transaction is aborted, commands ignored until end of transaction block',
      );
  }

  private end(): void {
    this.status = 'I';
    this.savepoints = [];
  }

  private requireBlock(what: string): void {
    if (!this.inBlock) throw new PgError('25P01', `${what} can only be used in transaction blocks`);
  }
}
