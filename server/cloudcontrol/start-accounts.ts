import type { Logger } from 'pino';
import { buildAccounts, type Account, type AccountConfig } from './accounts.js';
import { MemberRefresh } from './member-refresh.js';
import { discoverOrganization, type OrganizationConfig } from './organization.js';

/** Where start-time discovery calls go: the emulator (--endpoint), else the SDK's own resolution. */
export interface DiscoveryEndpoints {
  sts: string | undefined;
  /** Account ListRegions (`regions: all`). */
  account: string | undefined;
  /** Organizations ListAccounts (`organization:`). */
  organizations: string | undefined;
}

export interface StartedAccounts {
  /** The file's accounts, then the organization's members. */
  accounts: Account[];
  /** With `organization:`: lists it again while the server runs. */
  members?: MemberRefresh;
}

/**
 * The configuration file's accounts, ready to read, before the engines start: the organization's members
 * discovered and added after the file's own, then `regions: all` listed for each account that asks. Any failure
 * (an organization or an account's regions that cannot be listed) rejects with an Error that stops the start.
 */
export async function startAccounts(
  configs: AccountConfig[],
  organization: OrganizationConfig | undefined,
  defaultRegions: string[],
  endpoints: DiscoveryEndpoints,
  logger: Logger,
): Promise<StartedAccounts> {
  const fileAccounts = buildAccounts(configs, defaultRegions, endpoints.sts);
  let accounts = fileAccounts;
  if (organization !== undefined) {
    const { members, skipped } = await discoverOrganization(
      organization,
      configs,
      accounts,
      endpoints.organizations,
      endpoints.sts,
    );
    logger.info(
      {
        members: members.map((m) => `${m.name} (${m.accountId})`),
        skipped: skipped.map((s) => `${s.name} (${s.id}): ${s.why}`),
      },
      `organization: reading ${members.length} member accounts`,
    );
    // Built beside the file's (a member's role is assumed from its `from` account, by name); the file's own accounts
    // are kept as built, with the ids and credentials discovery already resolved.
    const built = buildAccounts([...configs, ...members], defaultRegions, endpoints.sts);
    accounts = [...accounts, ...built.slice(configs.length)];
  }
  if (accounts.length === 0)
    throw new Error(
      'organization: no member account to read (none ACTIVE, or all excluded), and no accounts:',
    );
  await Promise.all(accounts.map((a) => a.discoverRegions(endpoints.account)));
  if (organization === undefined) return { accounts };
  const members = new MemberRefresh({
    organization,
    configs,
    fileAccounts,
    members: accounts.slice(fileAccounts.length),
    defaultRegions,
    endpoints,
    logger,
  });
  return { accounts, members };
}
