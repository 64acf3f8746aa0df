import { parseArgs } from 'node:util';
import type { Catalog, Handler } from '../catalog/types.js';

export const iamPolicyUsage = `Usage: aws-sql-bridge iam-policy [--read-only] [--types <glob>[,<glob>...]]
Prints the least-privilege IAM policy (JSON) the server needs for the resource types it serves: the Cloud
Control actions it calls plus each type's handler permissions from the registry snapshot.
  --read-only                only what SELECT needs (as the server's --read-only): read and list handlers
  --types <glob>[,<glob>...]  the types the server serves, as its --types (default: every type, a large policy)`;

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
  Resource: '*';
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
  const policy = iamPolicy(catalog, { readOnly: values['read-only']! });
  const size = JSON.stringify(policy).length;
  const warning =
    size > MANAGED_POLICY_LIMIT
      ? `the policy is ${size} characters, more than the ${MANAGED_POLICY_LIMIT} IAM allows in one managed policy: serve fewer types (--types here and on the server), or split its actions over several policies`
      : undefined;
  return { text: JSON.stringify(policy, null, 2), ...(warning ? { warning } : {}) };
}
