/**
 * An organization's members while the server runs: members that join become readable accounts, members that
 * leave or are no longer ACTIVE stop being read. Organizations is listed again on a period (`organization.refresh`)
 * and on demand (cloud_control.refresh_accounts()), with the rules of the start (organization.ts).
 */
import type { Logger } from 'pino';
import { buildAccounts, type Account, type AccountConfig } from './accounts.js';
import { discoverOrganization, type OrganizationConfig } from './organization.js';
import type { DiscoveryEndpoints } from './start-accounts.js';

/** One account a refresh added or removed (what cloud_control.refresh_accounts() returns). */
export interface AccountChange {
  change: 'added' | 'removed';
  account_name: string;
  account_id: string;
}

export interface MemberRefreshOptions {
  organization: OrganizationConfig;
  /** The configuration file's own accounts, as configured and as built at start: always read. */
  configs: AccountConfig[];
  fileAccounts: Account[];
  /** The members read since start. */
  members: Account[];
  defaultRegions: string[];
  endpoints: DiscoveryEndpoints;
  logger: Logger;
}

/** A member is the same account while its id and the name it is read under are. */
const identity = (name: string, id: string | undefined) => `${name}\u0000${id ?? ''}`;

export class MemberRefresh {
  readonly #options: MemberRefreshOptions;
  #members: Account[];
  #running: Promise<AccountChange[]> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Told the set of accounts (the file's, then the members) after each refresh, and whether it changed. */
  #apply: (accounts: Account[], changed: boolean) => void = () => {};

  constructor(options: MemberRefreshOptions) {
    this.#options = options;
    this.#members = options.members;
  }

  /** Where a changed set goes (the Cloud Control client), and every `periodMs` (0: never) a refresh. */
  follow(apply: (accounts: Account[], changed: boolean) => void, periodMs: number): void {
    this.#apply = apply;
    if (periodMs > 0) {
      // Failures are logged by refresh(): the period goes on with the current set.
      this.#timer = setInterval(() => void this.refresh().catch(() => {}), periodMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Lists the organization again and applies what changed; a refresh asked for while one runs gets that one's
   * answer. A failure (the organization or a new member's regions cannot be listed, or nothing is left to read)
   * is logged as a warning, keeps the current accounts, and rejects with the Error.
   */
  refresh(): Promise<AccountChange[]> {
    this.#running ??= this.#refresh().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #refresh(): Promise<AccountChange[]> {
    const { organization, configs, fileAccounts, defaultRegions, endpoints, logger } = this.#options;
    try {
      const { members: found } = await discoverOrganization(
        organization,
        configs,
        fileAccounts,
        endpoints.organizations,
        endpoints.sts,
      );
      const known = new Map(this.#members.map((a) => [identity(a.name, a.knownId), a]));
      const joined = found.filter((c) => !known.has(identity(c.name, c.accountId)));
      // Built beside the file's accounts: a member's role is assumed from its `from` account, by name.
      const built = buildAccounts([...configs, ...joined], defaultRegions, endpoints.sts).slice(
        configs.length,
      );
      await Promise.all(built.map((a) => a.discoverRegions(endpoints.account)));
      const byIdentity = new Map([...known, ...built.map((a) => [identity(a.name, a.knownId), a] as const)]);
      const members = found.map((c) => byIdentity.get(identity(c.name, c.accountId))!);
      const kept = new Set(members);
      const changes: AccountChange[] = [
        ...this.#members
          .filter((a) => !kept.has(a))
          .map((a) => ({ change: 'removed' as const, account_name: a.name, account_id: a.knownId ?? '' })),
        ...built.map((a) => ({
          change: 'added' as const,
          account_name: a.name,
          account_id: a.knownId ?? '',
        })),
      ];
      // Unchanged, it is still told: what a statement made for a removed account meanwhile can go.
      if (changes.length === 0) {
        this.#apply([...fileAccounts, ...this.#members], false);
        return [];
      }
      if (fileAccounts.length + members.length === 0)
        throw new Error(
          'organization: no member account is left to read (none ACTIVE, or all excluded), and no accounts:',
        );
      this.#members = members;
      this.#apply([...fileAccounts, ...members], true);
      logger.info(
        { changes: changes.map((c) => `${c.change} ${c.account_name} (${c.account_id})`) },
        `organization: now reading ${members.length} member accounts`,
      );
      return changes;
    } catch (err) {
      logger.warn(
        { error: ((err as Error).cause as Error | undefined)?.name ?? (err as Error).name },
        `organization: the members could not be listed again, the accounts read are kept: ${(err as Error).message}`,
      );
      throw err;
    }
  }
}
