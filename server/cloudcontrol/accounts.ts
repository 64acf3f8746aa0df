import { fromIni, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { PgError, SqlState } from '../errors.js';
import { untilAborted } from './cache.js';

/** What the SDK's providers return: credentials, resolved (and refreshed) on demand. */
export type AwsCredentialIdentityProvider = ReturnType<typeof fromIni>;

/** How one configured account gets its credentials (server/config-file.ts reads these from YAML). */
export type AccountSource =
  /** The SDK's default chain: environment, AWS_PROFILE, SSO, container or instance role. */
  | { kind: 'default' }
  /** A named profile of the shared config and credentials files (SSO profiles included). */
  | { kind: 'profile'; profile: string }
  | {
      kind: 'role';
      roleArn: string;
      externalId?: string;
      sessionName?: string;
      durationSeconds?: number;
      /** The configured account whose credentials assume the role; absent: sourceProfile, else the default chain. */
      sourceAccount?: string;
      sourceProfile?: string;
    };

export interface AccountConfig {
  name: string;
  source: AccountSource;
  /** Regions read when a query pins none; empty: the server's default regions. */
  regions: string[];
  /** The account's id when the configuration gives it; else read from the role ARN or STS GetCallerIdentity. */
  accountId?: string;
  /** `regions: all`: the regions enabled in the account, from Account ListRegions at start. */
  allRegions?: boolean;
}

/** The account a write or a call is for: by configured name or by id (INSERT ... account_id). */
export interface AccountPin {
  name?: string;
  id?: string;
}

/** The account every request goes to without a configuration file. */
export const defaultAccountName = 'default';
const roleAccount = /^arn:aws[a-z-]*:iam::(\d{12}):role\//;

/** One configured account: its credentials (refreshed by the SDK as they expire) and its id, read once. */
export class Account {
  readonly name: string;
  /** Set once, at start: `regions: all` is resolved by discoverRegions() before any read. */
  regions: string[];
  readonly allRegions: boolean;
  /** Undefined: the SDK's default chain. */
  readonly credentials: AwsCredentialIdentityProvider | undefined;
  #id: Promise<string> | undefined;
  /** What #id gave: later reads take it without a wait on the signal. */
  #readId: string | undefined;
  readonly #knownId: string | undefined;
  readonly #stsEndpoint: string | undefined;

  constructor(
    config: AccountConfig,
    credentials: AwsCredentialIdentityProvider | undefined,
    stsEndpoint: string | undefined,
  ) {
    this.name = config.name;
    this.regions = config.regions;
    this.allRegions = config.allRegions ?? false;
    this.credentials = credentials;
    this.#stsEndpoint = stsEndpoint;
    this.#knownId =
      config.accountId ??
      (config.source.kind === 'role' ? roleAccount.exec(config.source.roleArn)?.[1] : undefined);
  }

  /**
   * What caches and SDK clients of this account are kept under: its name, and its id when known, so an
   * organization member that left and another that joined under its name never share a cached read.
   */
  get scope(): string {
    return this.#knownId === undefined ? this.name : `${this.name}/${this.#knownId}`;
  }

  /** The id without a call, when the configuration or the role ARN gives it. */
  get knownId(): string | undefined {
    return this.#knownId;
  }

  /** The id when no wait is needed for it: known, or read by an earlier GetCallerIdentity. */
  get readyId(): string | undefined {
    return this.#knownId ?? this.#readId;
  }

  /** The 12-digit account id: from the configuration, the role ARN, or one GetCallerIdentity (a failure is retried after a minute). */
  id(signal?: AbortSignal): Promise<string> {
    const known = this.#knownId ?? this.#readId;
    if (known !== undefined) return Promise.resolve(known);
    // A failure is kept a minute: a statement reading account_id does not wait for an unreachable STS each time.
    // Shared by every statement that asks meanwhile, so no one statement's cancel stops it.
    this.#id ??= this.#callerAccount().then(
      (id) => (this.#readId = id),
      (err: unknown) => {
        setTimeout(() => (this.#id = undefined), 60_000).unref();
        throw err;
      },
    );
    return untilAborted(this.#id, signal);
  }

  /**
   * `regions: all`: the regions enabled in the account (enabled by default, or opted in), from Account
   * ListRegions with the account's own credentials (`account:ListRegions`). `endpoint`: the emulator; absent, the
   * SDK's own (AWS_ENDPOINT_URL_ACCOUNT honoured).
   */
  async discoverRegions(endpoint: string | undefined): Promise<void> {
    if (!this.allRegions) return;
    // Loaded only where `regions: all` asks for it: every start would pay for it otherwise.
    const { AccountClient, paginateListRegions } = await import('@aws-sdk/client-account');
    const client = new AccountClient({
      region: 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      ...(this.credentials ? { credentials: this.credentials } : {}),
      maxAttempts: 3,
    });
    const regions: string[] = [];
    try {
      const pages = paginateListRegions(
        { client },
        { RegionOptStatusContains: ['ENABLED', 'ENABLED_BY_DEFAULT'] },
      );
      for await (const page of pages)
        for (const r of page.Regions ?? []) if (r.RegionName) regions.push(r.RegionName);
    } catch (err) {
      throw new Error(
        `account ${this.name}: regions: all could not list its enabled regions (${(err as Error).name}: ${(err as Error).message}); allow account:ListRegions or list the regions`,
        { cause: err },
      );
    } finally {
      client.destroy();
    }
    if (regions.length === 0) throw new Error(`account ${this.name}: regions: all found no enabled region`);
    this.regions = regions.sort();
  }

  async #callerAccount(): Promise<string> {
    // Loaded on the first statement that needs an account id nothing else gives: not on every start.
    const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({
      region: this.regions[0] ?? 'us-east-1',
      ...(this.#stsEndpoint ? { endpoint: this.#stsEndpoint } : {}),
      ...(this.credentials ? { credentials: this.credentials } : {}),
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 5000, requestTimeout: 10000, throwOnRequestTimeout: true },
    });
    try {
      const out = await sts.send(new GetCallerIdentityCommand({}));
      if (!out.Account) throw new Error('GetCallerIdentity answered without an Account');
      return out.Account;
    } finally {
      sts.destroy();
    }
  }
}

/**
 * The accounts of a configuration, each with its credential provider: the SDK's fromIni for a profile,
 * fromTemporaryCredentials for a role (from its source account's credentials), which assumes the role again
 * before the session expires. `stsEndpoint` (the emulator) is where AssumeRole and GetCallerIdentity go;
 * absent, the SDK's own (AWS_ENDPOINT_URL_STS honoured).
 */
export function buildAccounts(
  configs: AccountConfig[],
  defaultRegions: string[],
  stsEndpoint: string | undefined,
): Account[] {
  const byName = new Map(configs.map((c) => [c.name, c]));
  const providers = new Map<string, AwsCredentialIdentityProvider | undefined>();
  const providerOf = (config: AccountConfig, chain: string[]): AwsCredentialIdentityProvider | undefined => {
    if (providers.has(config.name)) return providers.get(config.name);
    if (chain.includes(config.name))
      throw new Error(
        `account ${config.name}: its role's source accounts form a loop (${[...chain, config.name].join(' -> ')})`,
      );
    const source = config.source;
    const regions = config.regions.length > 0 ? config.regions : defaultRegions;
    let provider: AwsCredentialIdentityProvider | undefined;
    if (source.kind === 'profile') provider = fromIni({ profile: source.profile });
    else if (source.kind === 'role') {
      const from = source.sourceAccount === undefined ? undefined : byName.get(source.sourceAccount);
      if (source.sourceAccount !== undefined && from === undefined)
        throw new Error(`account ${config.name}: source ${source.sourceAccount} is no configured account`);
      const master = from
        ? providerOf(from, [...chain, config.name])
        : source.sourceProfile !== undefined
          ? fromIni({ profile: source.sourceProfile })
          : undefined;
      provider = fromTemporaryCredentials({
        params: {
          RoleArn: source.roleArn,
          RoleSessionName: source.sessionName ?? 'aws-sql-bridge',
          ...(source.externalId !== undefined ? { ExternalId: source.externalId } : {}),
          ...(source.durationSeconds !== undefined ? { DurationSeconds: source.durationSeconds } : {}),
        },
        ...(master ? { masterCredentials: master } : {}),
        clientConfig: {
          region: regions[0] ?? 'us-east-1',
          ...(stsEndpoint ? { endpoint: stsEndpoint } : {}),
        },
      });
    }
    providers.set(config.name, provider);
    return provider;
  };
  return configs.map(
    (config) =>
      new Account(
        { ...config, regions: config.regions.length > 0 ? config.regions : defaultRegions },
        providerOf(config, []),
        stsEndpoint,
      ),
  );
}

/** The configured account a pin names; 22023 saying which exist when none matches. */
export async function accountFor(
  accounts: readonly Account[],
  pin: AccountPin | undefined,
  signal?: AbortSignal,
): Promise<Account> {
  if (pin === undefined || (pin.name === undefined && pin.id === undefined)) return accounts[0]!;
  let candidates = accounts;
  if (pin.name !== undefined) candidates = candidates.filter((a) => a.name === pin.name);
  if (pin.id !== undefined) {
    const ids = await Promise.all(candidates.map((a) => a.id(signal)));
    candidates = candidates.filter((_, i) => ids[i] === pin.id);
  }
  const found = candidates[0];
  if (found === undefined)
    throw new PgError(
      SqlState.invalid_parameter_value,
      `no configured account ${[
        pin.name === undefined ? '' : `named "${pin.name.slice(0, 64)}"`,
        pin.id === undefined ? '' : `with id ${pin.id.slice(0, 64)}`,
      ]
        .filter(Boolean)
        .join(' and ')}`,
      { hint: `The server's accounts: ${accounts.map((a) => a.name).join(', ')}.` },
    );
  return found;
}
