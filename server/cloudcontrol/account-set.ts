import type { Account } from './accounts.js';
import { statementCalls, type CallTally } from './call-tracking.js';

/**
 * The accounts reads go to, which an organization refresh replaces while the server runs. A statement sees one
 * set from its first read to its end (a join of two tables reads both from the same accounts): the set is kept
 * by the statement's call tally (server/session/session.ts runs each statement with its own), and forgotten with
 * it. Outside a statement (start, tests): the latest set.
 */
export class AccountSet {
  #latest: readonly Account[];
  readonly #byStatement = new WeakMap<CallTally, readonly Account[]>();

  constructor(accounts: readonly Account[]) {
    this.#latest = accounts;
  }

  /** The accounts the running statement reads. */
  get current(): readonly Account[] {
    const statement = statementCalls.getStore();
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
