import { errors } from './errors.js';
import type { OperationName } from './operations.js';

/**
 * The model's member constraints, checked before anything else and reported the way the service's
 * request layer (Coral) words them: "1 validation error detected: Value 'x' at 'typeName' failed to satisfy
 * constraint: Member must ...". Types the model cannot accept at all are a SerializationException.
 */

interface Constraint {
  kind: 'string' | 'integer' | 'statusFilter';
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: string;
  /** Sensitive members (DesiredState, PatchDocument, ResourceModel) never echo their value. */
  sensitive?: boolean;
}

const tokenPattern = '^[-A-Za-z0-9+/=]+$';
const typeName: Constraint = {
  kind: 'string',
  required: true,
  min: 10,
  max: 196,
  pattern: '^[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}$',
};
const common: Record<string, Constraint> = {
  TypeName: typeName,
  TypeVersionId: { kind: 'string', min: 1, max: 128, pattern: '^[A-Za-z0-9-]+$' },
  RoleArn: { kind: 'string', min: 20, max: 2048, pattern: '^arn:.+:iam::[0-9]{12}:role/.+$' },
};
const identifier: Constraint = { kind: 'string', required: true, min: 1, max: 1024, pattern: '^.+$' };
const clientToken: Constraint = { kind: 'string', min: 1, max: 128, pattern: tokenPattern };
const requestToken: Constraint = { kind: 'string', required: true, min: 1, max: 128, pattern: tokenPattern };
const properties = (required: boolean): Constraint => ({
  kind: 'string',
  required,
  min: 1,
  max: 262144,
  sensitive: true,
});
const maxResults: Constraint = { kind: 'integer', min: 1, max: 100 };

const inputs: Record<OperationName, Record<string, Constraint>> = {
  GetResource: { ...common, Identifier: identifier },
  ListResources: {
    ...common,
    NextToken: { kind: 'string', min: 1, max: 4096, pattern: '^.+$' },
    MaxResults: maxResults,
    ResourceModel: properties(false),
  },
  CreateResource: { ...common, ClientToken: clientToken, DesiredState: properties(true) },
  UpdateResource: {
    ...common,
    ClientToken: clientToken,
    Identifier: identifier,
    PatchDocument: properties(true),
  },
  DeleteResource: { ...common, ClientToken: clientToken, Identifier: identifier },
  GetResourceRequestStatus: { RequestToken: requestToken },
  ListResourceRequests: {
    MaxResults: maxResults,
    NextToken: { kind: 'string', min: 1, max: 2048, pattern: tokenPattern },
    ResourceRequestStatusFilter: { kind: 'statusFilter' },
  },
  CancelResourceRequest: { RequestToken: requestToken },
};

const operationValues = ['CREATE', 'DELETE', 'UPDATE'];
const statusValues = ['PENDING', 'IN_PROGRESS', 'SUCCESS', 'FAILED', 'CANCEL_IN_PROGRESS', 'CANCEL_COMPLETE'];

const memberName = (name: string) => name[0]!.toLowerCase() + name.slice(1);

export function validateInput(operation: OperationName, input: Record<string, unknown>): void {
  const problems: string[] = [];
  for (const [name, constraint] of Object.entries(inputs[operation])) {
    checkMember(memberName(name), input[name], constraint, problems);
  }
  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 validation error' : `${problems.length} validation errors`;
    throw errors.validation(`${count} detected: ${problems.join('; ')}`);
  }
}

function checkMember(member: string, value: unknown, c: Constraint, problems: string[]): void {
  const fail = (rule: string, shown: unknown = value) =>
    problems.push(
      `Value ${c.sensitive ? '' : `'${String(shown)}' `}at '${member}' failed to satisfy constraint: Member must ${rule}`,
    );
  if (value === undefined || value === null) {
    if (c.required)
      problems.push(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
    return;
  }
  if (c.kind === 'statusFilter') return checkStatusFilter(member, value, problems);
  if (c.kind === 'integer') {
    if (typeof value !== 'number' || !Number.isInteger(value))
      throw errors.serialization(`Expected an integer for ${member}`);
    if (c.min !== undefined && value < c.min) fail(`have value greater than or equal to ${c.min}`);
    if (c.max !== undefined && value > c.max) fail(`have value less than or equal to ${c.max}`);
    return;
  }
  if (typeof value !== 'string') throw errors.serialization(`Expected a string for ${member}`);
  if (c.min !== undefined && value.length < c.min) fail(`have length greater than or equal to ${c.min}`);
  if (c.max !== undefined && value.length > c.max) fail(`have length less than or equal to ${c.max}`);
  if (c.pattern !== undefined && value.length > 0 && !new RegExp(c.pattern).test(value)) {
    fail(`satisfy regular expression pattern: ${c.pattern}`);
  }
}

function checkStatusFilter(member: string, value: unknown, problems: string[]): void {
  if (typeof value !== 'object' || Array.isArray(value))
    throw errors.serialization(`Expected an object for ${member}`);
  const filter = value as Record<string, unknown>;
  const lists: [string, string[]][] = [
    ['Operations', operationValues],
    ['OperationStatuses', statusValues],
  ];
  for (const [name, allowed] of lists) {
    const list = filter[name];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw errors.serialization(`Expected a list for ${member}.${memberName(name)}`);
    if (list.some((v) => typeof v !== 'string' || !allowed.includes(v))) {
      problems.push(
        `Value '[${list.join(', ')}]' at '${member}.${memberName(name)}' failed to satisfy constraint: Member must` +
          ` satisfy constraint: [Member must satisfy enum value set: [${allowed.join(', ')}]]`,
      );
    }
  }
}
