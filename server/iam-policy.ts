import { parseArgs } from 'node:util';
import type { Catalog, Handler } from '../catalog/types.js';
import type { ConfigFile } from './config-file.js';

export const iamPolicyUsage = `Usage: aws-sql-bridge iam-policy [--read-only] [--types <glob>[,<glob>...]] [--config <file> [--only reader|organization]]
Prints the least-privilege IAM policy (JSON) the server needs for the resource types it serves: the Cloud
Control actions it calls plus each type's handler permissions from the registry snapshot.
  --read-only                only what SELECT needs (as the server's --read-only): read and list handlers
  --types <glob>[,<glob>...]  the types the server serves, as its --types (default: every type, a large policy)
  --config <file>            the server's configuration file: with regions: all, account:ListRegions; with
                             organization:, the statements its from identity needs (Sid AwsSqlBridgeOrganization*)
  --only reader              the policy of each account read (the role assumed in each member): no Organization*
  --only organization        the policy of the organization's from identity alone`;

/** Cloud Control actions the server calls: SELECT (GetResource, ListResources, the requests table). */
export const cloudControlReadActions = [
  'cloudformation:GetResource',
  'cloudformation:ListResourceRequests',
  'cloudformation:ListResources',
];
/**
 * INSERT, UPDATE and DELETE, and the status polling of their requests. CancelResourceRequest is not among
 * them: the server never cancels a request (a cancelled statement stops waiting; the request runs on).
 */
export const cloudControlWriteActions = [
  'cloudformation:CreateResource',
  'cloudformation:DeleteResource',
  'cloudformation:GetResourceRequestStatus',
  'cloudformation:UpdateResource',
];

const readHandlers: Handler[] = ['read', 'list'];
const writeHandlers: Handler[] = ['create', 'update', 'delete'];

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: '*' | string[];
}
export interface IamPolicy {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Sorted, deduplicated; IAM compares action names case-insensitively, so duplicates by case go too. */
function actions(list: Iterable<string>, without: ReadonlySet<string> = new Set()): string[] {
  const byLower = new Map<string, string>();
  for (const a of list) {
    const key = a.toLowerCase();
    if (!without.has(key) && !byLower.has(key)) byLower.set(key, a);
  }
  return [...byLower.values()].sort((a, b) => a.localeCompare(b, 'en'));
}

/**
 * One statement for the Cloud Control read actions and the read/list handler permissions of every served type;
 * unless read-only, one more with the write actions and the create/update/delete handler permissions not
 * already allowed. Resource "*": Cloud Control authorizes by type, and handler permissions carry no ARNs.
 */
export function iamPolicy(catalog: Catalog, options: { readOnly: boolean }): IamPolicy {
  const handlerActions = (handlers: Handler[]) =>
    catalog.resourceTypes.flatMap((t) => handlers.flatMap((h) => t.definition.permissions[h] ?? []));
  const read = actions([...cloudControlReadActions, ...handlerActions(readHandlers)]);
  const statements: PolicyStatement[] = [
    { Sid: 'AwsSqlBridgeRead', Effect: 'Allow', Action: read, Resource: '*' },
  ];
  if (!options.readOnly) {
    const granted = new Set(read.map((a) => a.toLowerCase()));
    statements.push({
      Sid: 'AwsSqlBridgeWrite',
      Effect: 'Allow',
      Action: actions([...cloudControlWriteActions, ...handlerActions(writeHandlers)], granted),
      Resource: '*',
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** Which statements: every one, those of the accounts read, or those of the organization's `from` identity. */
export type PolicyPart = 'all' | 'reader' | 'organization';

/**
 * What the configuration file adds. For each account read (the role assumed in each member included):
 * account:ListRegions when some account, or the organization, has `regions: all` (listed with the account's own
 * credentials). For the organization's `from` identity: organizations:ListAccounts, and sts:AssumeRole on the role
 * `role_name` in any account of the partition (the members are known only once listed).
 */
export function configStatements(file: ConfigFile, part: PolicyPart): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const org = file.organization;
  if (part !== 'organization' && (org?.allRegions || file.accounts.some((a) => a.allRegions)))
    statements.push({
      Sid: 'AwsSqlBridgeListRegions',
      Effect: 'Allow',
      Action: ['account:ListRegions'],
      Resource: '*',
    });
  if (org !== undefined && part !== 'reader') {
    const regions = [...(org.regions ?? []), ...(file.regions ?? [])];
    const partition = regions.some((r) => r.startsWith('cn-'))
      ? 'aws-cn'
      : regions.some((r) => r.startsWith('us-gov-'))
        ? 'aws-us-gov'
        : 'aws';
    statements.push(
      {
        Sid: 'AwsSqlBridgeOrganizationList',
        Effect: 'Allow',
        Action: ['organizations:ListAccounts'],
        Resource: '*',
      },
      {
        Sid: 'AwsSqlBridgeOrganizationAssumeRole',
        Effect: 'Allow',
        Action: ['sts:AssumeRole'],
        Resource: [`arn:${partition}:iam::*:role/${org.roleName}`],
      },
    );
  }
  return statements;
}

/** IAM's size limit for a customer managed policy, in characters without whitespace. */
export const MANAGED_POLICY_LIMIT = 6144;

/**
 * `aws-sql-bridge iam-policy ...`: the policy's text, and a warning when it is too large to attach as one
 * managed policy. A usage error throws with what to do.
 */
export async function runIamPolicy(argv: string[]): Promise<{ text: string; warning?: string }> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'read-only': { type: 'boolean', default: false },
        types: { type: 'string', multiple: true },
        config: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new Error(`aws-sql-bridge iam-policy: ${(err as Error).message}\n${iamPolicyUsage}`, {
      cause: err,
    });
  }
  if (values.help) return { text: iamPolicyUsage };
  const { parseTypes } = await import('./config.js');
  const { selectCatalog } = await import('../catalog/index.js');
  let catalog: Catalog;
  try {
    catalog = selectCatalog(parseTypes(values.types ?? []));
  } catch (err) {
    throw new Error(`aws-sql-bridge iam-policy: ${(err as Error).message}`, { cause: err });
  }
  const part = values.only ?? 'all';
  if (part !== 'all' && part !== 'reader' && part !== 'organization')
    throw new Error(
      `aws-sql-bridge iam-policy: --only ${part}: give reader or organization\n${iamPolicyUsage}`,
    );
  if (values.only !== undefined && values.config === undefined)
    throw new Error(`aws-sql-bridge iam-policy: --only needs --config <file>\n${iamPolicyUsage}`);
  let file: ConfigFile | undefined;
  if (values.config !== undefined) {
    const { readConfigFile } = await import('./config-file.js');
    try {
      file = readConfigFile(values.config);
    } catch (err) {
      throw new Error(`aws-sql-bridge iam-policy: ${(err as Error).message}`, { cause: err });
    }
    if (part === 'organization' && file.organization === undefined)
      throw new Error(
        `aws-sql-bridge iam-policy: --only organization: ${values.config} has no organization:`,
      );
  }
  const policy = iamPolicy(catalog, { readOnly: values['read-only']! });
  if (part === 'organization') policy.Statement = [];
  if (file) policy.Statement.push(...configStatements(file, part as PolicyPart));
  const size = JSON.stringify(policy).length;
  const warning =
    size > MANAGED_POLICY_LIMIT
      ? `the policy is ${size} characters, more than the ${MANAGED_POLICY_LIMIT} IAM allows in one managed policy: serve fewer types (--types here and on the server), or split its actions over several policies`
      : undefined;
  const note =
    file?.organization && part === 'all'
      ? `the statements AwsSqlBridgeOrganization* are for the organization's from identity, the others for the role ${file.organization.roleName} in each member (and each account configured): --only organization and --only reader print each policy alone`
      : undefined;
  const notes = [warning, note].filter((n): n is string => n !== undefined);
  return { text: JSON.stringify(policy, null, 2), ...(notes.length ? { warning: notes.join('\n') } : {}) };
}
