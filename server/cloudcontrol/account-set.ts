import type { Account } from './accounts.js';
import type { CallTally } from './call-tracking.js';

/**
 * The accounts reads go to, which an organization refresh replaces while the server runs. A statement sees one
 * set from its first read to its end (a join of two tables reads both from the same accounts): the set is kept
 * by the statement's call tally (each statement has its own, carried down with its reads and writes), and
 * forgotten with it. Without a tally (start, EXPLAIN's plan, tests): the latest set.
 */
export class AccountSet {
  #latest: readonly Account[];
  readonly #byStatement = new WeakMap<CallTally, readonly Account[]>();

  constructor(accounts: readonly Account[]) {
    this.#latest = accounts;
  }

  /** The accounts the statement of this tally reads. */
  current(statement: CallTally | undefined): readonly Account[] {
    if (statement === undefined) return this.#latest;
    let accounts = this.#byStatement.get(statement);
    if (accounts === undefined) this.#byStatement.set(statement, (accounts = this.#latest));
    return accounts;
  }

  /** The accounts statements that have not read yet will read. */
  get latest(): readonly Account[] {
    return this.#latest;
  }

  /** Later statements read `accounts`; those that already read keep theirs. Returns whether the set changed. */
  replace(accounts: readonly Account[]): boolean {
    const before = new Set(this.#latest);
    const changed = accounts.length !== before.size || accounts.some((a) => !before.has(a));
    this.#latest = accounts;
    return changed;
  }
}
