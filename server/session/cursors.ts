import { PgError, SqlState } from '../errors.js';
import type { Result } from './result.js';

export type FetchDirection = 'forward' | 'backward' | 'absolute' | 'relative';

/**
 * A cursor over a materialized result: DECLARE runs the query once; FETCH and MOVE walk the rows.
 * `position` follows PostgreSQL: 0 is before the first row, 1..n on a row, n + 1 after the last.
 */
export class Cursor {
  private at = 0;

  constructor(
    readonly result: Result,
    readonly holdable: boolean,
  ) {}

  /** The rows FETCH returns (MOVE discards them but counts them). */
  fetch(direction: FetchDirection, count: number): Buffer[] {
    const rows = this.result.rows;
    const n = rows.length;
    switch (direction) {
      case 'forward': {
        const from = this.at; // rows[from] is row from + 1
        const to = Math.min(from + count, n);
        this.at = from + count > n ? n + 1 : from + count;
        return rows.slice(Math.min(from, n), to);
      }
      case 'backward': {
        const out: Buffer[] = [];
        let p = this.at;
        for (let i = 0; i < count && p > 1; i++) out.push(rows[--p - 1]!);
        this.at = this.at - count < 1 ? 0 : this.at - count;
        return out;
      }
      case 'absolute':
        return this.moveTo(count < 0 ? n + count + 1 : count);
      case 'relative':
        return this.moveTo(this.at + count);
    }
  }

  /** 0 before the first row, n + 1 after the last: rows before it have been read. */
  get position(): number {
    return this.at;
  }

  /** Whether rows remain after the current position. */
  get hasMore(): boolean {
    return this.at < this.result.rows.length;
  }

  private moveTo(target: number): Buffer[] {
    const n = this.result.rows.length;
    this.at = Math.max(0, Math.min(target, n + 1));
    return this.at >= 1 && this.at <= n ? [this.result.rows[this.at - 1]!] : [];
  }
}

export class Cursors {
  private cursors = new Map<string, Cursor>();

  declare(name: string, cursor: Cursor): void {
    if (this.cursors.has(name))
      throw new PgError(SqlState.duplicate_cursor, `cursor "${name}" already exists`);
    this.cursors.set(name, cursor);
  }

  find(name: string): Cursor | undefined {
    return this.cursors.get(name);
  }

  get(name: string): Cursor {
    const cursor = this.cursors.get(name);
    if (!cursor) throw new PgError(SqlState.invalid_cursor_name, `cursor "${name}" does not exist`);
    return cursor;
  }

  close(name: string | null): void {
    if (name === null) this.cursors.clear();
    else if (!this.cursors.delete(name))
      throw new PgError(SqlState.invalid_cursor_name, `cursor "${name}" does not exist`);
  }

  /** The end of a transaction block closes every cursor not declared WITH HOLD. */
  endTransaction(): void {
    for (const [name, cursor] of this.cursors) if (!cursor.holdable) this.cursors.delete(name);
  }
}
