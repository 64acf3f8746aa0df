import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { AccountConfig, AccountSource } from './cloudcontrol/accounts.js';
import type { OrganizationConfig } from './cloudcontrol/organization.js';

/** What the configuration file (`--config`, `AWS_SQL_BRIDGE_CONFIG`) says; docs/CONFIGURATION.md describes it. */
export interface ConfigFile {
  /** Regions of the accounts that list none; absent: --region, else AWS_REGION. */
  regions?: string[];
  accounts: AccountConfig[];
  /** `organization:`: every active member account of an AWS Organization, discovered at start. */
  organization?: OrganizationConfig;
  /** Where STS AssumeRole and GetCallerIdentity go; absent: AWS_ENDPOINT_URL_STS, else --endpoint, else the SDK's. */
  stsEndpoint?: string;
}

const accountKeys = [
  'profile',
  'role_arn',
  'external_id',
  'session_name',
  'duration_seconds',
  'source',
  'source_profile',
  'regions',
  'account_id',
];

const organizationKeys = [
  'role_name',
  'from',
  'regions',
  'exclude',
  'external_id',
  'session_name',
  'refresh',
];

/** Reads and checks the file; every mistake is an Error naming the file, the account and the key. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`--config ${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  return parseConfigFile(doc, path);
}

export function parseConfigFile(doc: unknown, path: string): ConfigFile {
  const fail = (message: string): never => {
    throw new Error(`--config ${path}: ${message}`);
  };
  if (!isRecord(doc)) return fail('give a mapping with accounts:');
  for (const key of Object.keys(doc))
    if (!['regions', 'accounts', 'organization', 'sts_endpoint'].includes(key))
      fail(`unknown key ${key} (known: regions, accounts, organization, sts_endpoint)`);
  const regions = doc.regions === undefined ? undefined : regionList(doc.regions, 'regions', fail);
  const organization =
    doc.organization === undefined ? undefined : organizationOf(doc.organization, doc.accounts, fail);
  // With an organization, the file's own accounts are optional (the members are discovered).
  const configured = doc.accounts ?? {};
  if (!isRecord(configured) || (Object.keys(configured).length === 0 && organization === undefined))
    return fail(
      'accounts: give at least one account, e.g. accounts: { prod: { profile: prod } } (or organization:)',
    );
  const accounts = Object.entries(configured).map(([name, body]): AccountConfig => {
    const at = `accounts.${name}`;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
      fail(`${at}: a name is 1 to 64 letters, digits, '_', '.' or '-'`);
    const entry = body ?? {};
    if (!isRecord(entry))
      return fail(`${at}: give a mapping (profile:, role_arn:, or {} for the default chain)`);
    for (const key of Object.keys(entry))
      if (!accountKeys.includes(key)) fail(`${at}: unknown key ${key} (known: ${accountKeys.join(', ')})`);
    const text = (key: string): string | undefined => {
      const v = entry[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v === '') return fail(`${at}.${key}: give a non-empty string`);
      return v;
    };
    const accountId = entry.account_id === undefined ? undefined : String(entry.account_id);
    if (accountId !== undefined && !/^\d{12}$/.test(accountId))
      fail(`${at}.account_id: give the 12-digit id`);
    const profile = text('profile');
    const roleArn = text('role_arn');
    const roleOnly = ['external_id', 'session_name', 'duration_seconds', 'source', 'source_profile'];
    let source: AccountSource;
    if (roleArn !== undefined) {
      if (profile !== undefined)
        fail(`${at}: give profile or role_arn, not both (source_profile names the role's source)`);
      if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(roleArn))
        fail(`${at}.role_arn: give a role ARN such as arn:aws:iam::123456789012:role/reader`);
      if (entry.source !== undefined && entry.source_profile !== undefined)
        fail(`${at}: give source or source_profile, not both`);
      const duration = entry.duration_seconds;
      if (duration !== undefined && !(Number.isInteger(duration) && (duration as number) > 0))
        fail(`${at}.duration_seconds: give whole seconds (STS accepts 900 to 43200)`);
      const sourceAccount = text('source');
      if (sourceAccount !== undefined && !Object.hasOwn(configured, sourceAccount))
        fail(`${at}.source: ${sourceAccount} is no account of this file`);
      source = {
        kind: 'role',
        roleArn,
        externalId: text('external_id'),
        sessionName: text('session_name'),
        durationSeconds: duration as number | undefined,
        sourceAccount,
        sourceProfile: text('source_profile'),
      };
    } else {
      const stray = roleOnly.filter((k) => entry[k] !== undefined);
      if (stray.length > 0) fail(`${at}: ${stray.join(', ')} go with role_arn`);
      source = profile !== undefined ? { kind: 'profile', profile } : { kind: 'default' };
    }
    return {
      name,
      source,
      regions:
        entry.regions === undefined || entry.regions === 'all'
          ? []
          : regionList(entry.regions, `${at}.regions`, fail),
      ...(entry.regions === 'all' ? { allRegions: true } : {}),
      ...(accountId !== undefined ? { accountId } : {}),
    };
  });
  const stsEndpoint = doc.sts_endpoint;
  if (stsEndpoint !== undefined && (typeof stsEndpoint !== 'string' || !/^https?:\/\//.test(stsEndpoint)))
    fail('sts_endpoint: give a URL such as https://sts.us-east-1.amazonaws.com');
  return {
    accounts,
    ...(organization ? { organization } : {}),
    ...(regions ? { regions } : {}),
    ...(stsEndpoint ? { stsEndpoint: stsEndpoint as string } : {}),
  };
}

/** `organization:`: the role assumed in each member, who lists the members, and their regions. */
function organizationOf(
  value: unknown,
  accounts: unknown,
  fail: (message: string) => never,
): OrganizationConfig {
  const at = 'organization';
  if (!isRecord(value)) return fail(`${at}: give a mapping with role_name: (and from:, regions:)`);
  for (const key of Object.keys(value))
    if (!organizationKeys.includes(key))
      fail(`${at}: unknown key ${key} (known: ${organizationKeys.join(', ')})`);
  const text = (key: string): string | undefined => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') return fail(`${at}.${key}: give a non-empty string`);
    return v;
  };
  const roleName = text('role_name');
  if (roleName === undefined || !/^[\w+=,.@-]{1,64}$/.test(roleName))
    return fail(
      `${at}.role_name: give the name of the role to assume in each member, e.g. OrganizationAccountAccessRole`,
    );
  const from = text('from');
  const exclude = value.exclude === undefined ? [] : value.exclude;
  const ids = Array.isArray(exclude) ? exclude.map(String) : [];
  if (!Array.isArray(exclude) || !ids.every((id) => /^\d{12}$/.test(id)))
    fail(`${at}.exclude: give a list of 12-digit account ids, e.g. ['111111111111']`);
  return {
    roleName,
    ...(from !== undefined
      ? isRecord(accounts) && Object.hasOwn(accounts, from)
        ? { fromAccount: from }
        : { fromProfile: from }
      : {}),
    regions:
      value.regions === undefined || value.regions === 'all'
        ? []
        : regionList(value.regions, `${at}.regions`, fail),
    ...(value.regions === 'all' ? { allRegions: true } : {}),
    exclude: ids,
    ...(text('external_id') !== undefined ? { externalId: text('external_id') } : {}),
    ...(text('session_name') !== undefined ? { sessionName: text('session_name') } : {}),
    refreshMs: refreshPeriod(value.refresh, `${at}.refresh`, fail),
  };
}

/** `organization.refresh` when not given: members that join are read within this long. */
const defaultRefreshMs = 15 * 60_000;
const periodUnits: Record<string, number> = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** `refresh: 15m` (s, m or min, h, d), `0` / `off`: never on a period (cloud_control.refresh_accounts() still does). */
function refreshPeriod(value: unknown, at: string, fail: (message: string) => never): number {
  if (value === undefined) return defaultRefreshMs;
  if (value === 0 || value === false || value === 'off' || value === '0') return 0;
  const m = typeof value === 'string' ? /^(\d+)\s*([a-z]+)$/.exec(value.trim()) : null;
  const unit = m ? periodUnits[m[2]!] : undefined;
  const ms = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!(ms >= 1000 && ms <= 7 * 86_400_000))
    return fail(`${at}: give a period from 1s to 7d such as 30s, 15m or 1h, or off (then only on demand)`);
  return ms;
}

function regionList(value: unknown, at: string, fail: (message: string) => never): string[] {
  if (value === 'all')
    return fail(
      `${at}: all (the enabled regions, discovered) is an account's setting: give it under accounts.<name>.regions`,
    );
  const list = typeof value === 'string' ? value.split(',').map((r) => r.trim()) : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((r) => typeof r === 'string' && /^[a-z]{2}(-[a-z0-9]+)+$/.test(r))
  )
    return fail(`${at}: give a list of regions such as [us-east-1, eu-west-1]`);
  return list as string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
