/**
 * `organization:` in the configuration file: the member accounts of an AWS Organization, listed at start
 * (Organizations ListAccounts, all pages) with the `from` identity, each read through a role assumed in it, and
 * listed again while the server runs (member-refresh.ts). The result is plain account configurations, built beside
 * the file's own by buildAccounts().
 */
import type { Account as OrgAccount } from '@aws-sdk/client-organizations';
import { fromIni } from '@aws-sdk/credential-providers';
import { Account, type AccountConfig } from './accounts.js';

export interface OrganizationConfig {
  /** The role assumed in each member: arn:<partition>:iam::<member id>:role/<roleName>. */
  roleName: string;
  /** The configured account whose credentials list the organization and assume the members' roles. */
  fromAccount?: string;
  /** Else a profile of the shared config files; neither: the SDK's default chain. */
  fromProfile?: string;
  /** The members' regions; empty: the file's (or the server's) default regions. */
  regions: string[];
  /** `regions: all`: each member's enabled regions, from Account ListRegions with the member's role. */
  allRegions?: boolean;
  /** Member account ids never read. */
  exclude: string[];
  externalId?: string;
  sessionName?: string;
  /** How often the members are listed again while the server runs (member-refresh.ts); 0: only on demand. */
  refreshMs: number;
}

/** What discovery found: the members to read, and what it left out and why (for the start's log line). */
export interface Discovered {
  members: AccountConfig[];
  skipped: { id: string; name: string; why: string }[];
}

/**
 * Lists the organization and returns an account configuration for every ACTIVE member, named by its Name (its
 * id when names clash with each other or with a configured account). Left out: members not ACTIVE, the excluded,
 * the caller's own account (it is the `from` identity: configure it under accounts: to read it) and members
 * already configured by id (account_id or role ARN). `accounts`: the file's accounts, built; `endpoint`: where
 * Organizations calls go (the emulator), absent the SDK's own (AWS_ENDPOINT_URL_ORGANIZATIONS honoured).
 * An organization the caller cannot list is an Error naming the identity and what to allow.
 */
export async function discoverOrganization(
  org: OrganizationConfig,
  configs: AccountConfig[],
  accounts: Account[],
  endpoint: string | undefined,
  stsEndpoint: string | undefined,
): Promise<Discovered> {
  const from = org.fromAccount === undefined ? undefined : accounts.find((a) => a.name === org.fromAccount);
  const credentials = from
    ? from.credentials
    : org.fromProfile !== undefined
      ? fromIni({ profile: org.fromProfile })
      : undefined;
  const who =
    org.fromAccount !== undefined
      ? `account ${org.fromAccount}`
      : org.fromProfile !== undefined
        ? `profile ${org.fromProfile}`
        : "the SDK's default credentials";
  const caller =
    from ?? new Account({ name: who, source: { kind: 'default' }, regions: [] }, credentials, stsEndpoint);

  const listed: OrgAccount[] = [];
  // Loaded only where `organization:` asks for it: every start would pay for it otherwise.
  const { OrganizationsClient, paginateListAccounts } = await import('@aws-sdk/client-organizations');
  const client = new OrganizationsClient({
    region: 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: 3,
    // A stalled listing would hold every later refresh (they join the one running).
    requestHandler: { connectionTimeout: 5000, requestTimeout: 30000, throwOnRequestTimeout: true },
  });
  try {
    for await (const page of paginateListAccounts({ client }, {})) listed.push(...(page.Accounts ?? []));
  } catch (err) {
    throw new Error(
      `organization: ${who} could not list the organization's accounts (${(err as Error).name}: ${(err as Error).message}); ` +
        'allow organizations:ListAccounts (the management account or a delegated administrator), or give from: an identity that can',
      { cause: err },
    );
  } finally {
    client.destroy();
  }
  let callerId: string;
  try {
    callerId = await caller.id();
  } catch (err) {
    throw new Error(
      `organization: ${who} could not read its own account id with STS GetCallerIdentity (${(err as Error).name}: ${(err as Error).message})`,
      { cause: err },
    );
  }

  const configured = new Set(accounts.map((a) => a.knownId).filter((id): id is string => id !== undefined));
  const skipped: Discovered['skipped'] = [];
  const readable = listed.filter((a) => {
    const id = a.Id ?? '';
    const name = a.Name ?? id;
    const state = a.State ?? a.Status ?? 'UNKNOWN';
    const why =
      state !== 'ACTIVE'
        ? state
        : org.exclude.includes(id)
          ? 'excluded'
          : id === callerId
            ? 'the caller itself'
            : configured.has(id)
              ? 'configured under accounts'
              : undefined;
    if (why !== undefined) skipped.push({ id, name, why });
    return why === undefined && /^\d{12}$/.test(id);
  });

  const names = readable.map((a) => a.Name ?? '');
  const taken = new Set(configs.map((c) => c.name));
  const clashes = (name: string) =>
    name === '' || taken.has(name) || names.filter((n) => n === name).length > 1;
  const members = readable.map((a): AccountConfig => {
    const id = a.Id!;
    const partition = a.Arn?.split(':')[1] || 'aws';
    return {
      name: clashes(a.Name ?? '') ? id : a.Name!,
      source: {
        kind: 'role',
        roleArn: `arn:${partition}:iam::${id}:role/${org.roleName}`,
        ...(org.externalId !== undefined ? { externalId: org.externalId } : {}),
        ...(org.sessionName !== undefined ? { sessionName: org.sessionName } : {}),
        ...(org.fromAccount !== undefined ? { sourceAccount: org.fromAccount } : {}),
        ...(org.fromProfile !== undefined ? { sourceProfile: org.fromProfile } : {}),
      },
      regions: org.regions,
      ...(org.allRegions ? { allRegions: true } : {}),
      accountId: id,
    };
  });
  return { members, skipped };
}
