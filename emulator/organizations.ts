/**
 * AWS Organizations ListAccounts (awsJson1_1, `X-Amz-Target: AWSOrganizationsV20161128.ListAccounts`), for the
 * bridge's `organization:` discovery. The organization is the emulator's configuration: its management account
 * (`--org-management`, default the emulator's default account) and member accounts (`--org-account
 * ID=NAME[:STATUS]`). Only the management account may list it, as in AWS without a delegated administrator.
 */
import { ApiError } from './errors.js';
import { accountId as defaultAccountId } from './resource-model.js';
import type { Caller } from './sts.js';

export const organizationsTargetPrefix = 'AWSOrganizationsV20161128.';

/** A member account as `--org-account` gives it. */
export interface OrgAccount {
  id: string;
  name: string;
  /** ListAccounts' State: ACTIVE, SUSPENDED, PENDING_CLOSURE... */
  state: string;
}

export interface OrganizationOptions {
  /** Member accounts; none: the caller's account is in no organization (AWSOrganizationsNotInUseException). */
  orgAccounts?: OrgAccount[];
  /** The account that may call ListAccounts; absent: the emulator's default account (123456789012). */
  orgManagement?: string;
  /** Set by a test (POST /__admin/organization): ListAccounts answers this exception, e.g. ServiceException. */
  listFailure?: string;
}

const namespace = 'com.amazonaws.organizations.v20161128';
/** Organizations may answer fewer accounts than MaxResults: small pages make every client page. */
const pageSize = 2;
const orgId = 'o-exampleorgid';

/** ListAccounts: the management account (named "management" unless listed) and the members, a page at a time. */
export function listAccounts(
  options: OrganizationOptions,
  caller: Caller,
  denied: boolean,
  input: Record<string, unknown>,
): unknown {
  const members = options.orgAccounts ?? [];
  if (options.listFailure !== undefined)
    throw new ApiError(
      namespace,
      options.listFailure,
      options.listFailure === 'ServiceException' ? 500 : 400,
      'Failure injected by POST /__admin/organization.',
    );
  if (members.length === 0)
    throw new ApiError(
      namespace,
      'AWSOrganizationsNotInUseException',
      400,
      'Your account is not a member of an organization.',
    );
  const management = options.orgManagement ?? defaultAccountId;
  if (denied || caller.account !== management)
    throw new ApiError(
      namespace,
      'AccessDeniedException',
      400,
      `User: ${caller.arn} is not authorized to perform: organizations:ListAccounts (You don't have permissions to access this resource.)`,
    );
  const max = input.MaxResults === undefined ? 20 : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1 || max > 20)
    throw new ApiError(namespace, 'InvalidInputException', 400, 'MaxResults must be between 1 and 20');
  const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
  if (!Number.isInteger(start) || start < 0)
    throw new ApiError(
      namespace,
      'InvalidInputException',
      400,
      'You specified an invalid value for nextToken.',
    );
  const all = [
    ...(members.some((m) => m.id === management)
      ? []
      : [{ id: management, name: 'management', state: 'ACTIVE' }]),
    ...members,
  ];
  const end = start + Math.min(max, pageSize);
  const page = all.slice(start, end).map((a) => ({
    Id: a.id,
    Arn: `arn:aws:organizations::${management}:account/${orgId}/${a.id}`,
    Email: `${a.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@example.com`,
    Name: a.name,
    // Status is the older field; State replaces it (and knows more states).
    Status: a.state === 'ACTIVE' || a.state === 'SUSPENDED' ? a.state : 'PENDING_CLOSURE',
    State: a.state,
    JoinedMethod: a.id === management ? 'CREATED' : 'INVITED',
    JoinedTimestamp: 1_700_000_000,
  }));
  return { Accounts: page, ...(end < all.length ? { NextToken: String(end) } : {}) };
}

/** `--org-account ID=NAME[:STATUS]`. */
export function parseOrgAccount(value: string, flag: string): OrgAccount {
  const match = /^(\d{12})=([^:]+)(?::([A-Z_]+))?$/.exec(value);
  if (!match) throw new Error(`${flag} needs <12-digit id>=NAME[:STATUS], e.g. 222222222222=audit:SUSPENDED`);
  return { id: match[1]!, name: match[2]!, state: match[3] ?? 'ACTIVE' };
}

/**
 * POST /__admin/organization: changes the organization while the emulator runs, as members join, leave or are
 * suspended in AWS (ListAccounts has no "add account"). `{ account: { id, name, state } }` adds the member or
 * replaces the one with that id (state defaults to ACTIVE), `{ remove: id }` takes it out, `{ listFailure: name }`
 * makes ListAccounts answer that exception (null: answer again). Changes `options` in place; returns it.
 */
export function changeOrganization(options: OrganizationOptions, update: unknown): OrganizationOptions {
  if (typeof update !== 'object' || update === null || Array.isArray(update))
    throw new Error('give a JSON object with account, remove or listFailure');
  const { account, remove, listFailure, ...rest } = update as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    throw new Error(`unknown key ${Object.keys(rest)[0]} (known: account, remove, listFailure)`);
  if (account !== undefined) {
    const { id, name, state = 'ACTIVE' } = (account ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || !/^\d{12}$/.test(id) || typeof name !== 'string' || name === '')
      throw new Error('account needs a 12-digit id and a name');
    if (typeof state !== 'string' || !/^[A-Z_]+$/.test(state))
      throw new Error('account.state: e.g. SUSPENDED');
    const members = (options.orgAccounts ??= []);
    const at = members.findIndex((m) => m.id === id);
    if (at >= 0) members[at] = { id, name, state };
    else members.push({ id, name, state });
  }
  if (remove !== undefined) {
    if (typeof remove !== 'string') throw new Error('remove needs an account id');
    options.orgAccounts = (options.orgAccounts ?? []).filter((m) => m.id !== remove);
  }
  if (listFailure === null) delete options.listFailure;
  else if (listFailure !== undefined) {
    if (typeof listFailure !== 'string' || !/^[A-Za-z]+$/.test(listFailure))
      throw new Error('listFailure needs an exception name, e.g. ServiceException, or null');
    options.listFailure = listFailure;
  }
  return options;
}
