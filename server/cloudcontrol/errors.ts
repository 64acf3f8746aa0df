import type { ResourceType, Table } from '../../catalog/types.js';
import { PgError, SqlState } from '../errors.js';

export interface AwsErrorContext {
  /** Cloud Control operation, e.g. `GetResource`. */
  operation: string;
  table: Table;
  region: string;
  identifier?: string;
  /**
   * Values that must never reach a client or a log (e.g. the string leaves of write-only properties a
   * write sent); any AWS message that echoes one has it replaced by `***`.
   */
  secrets?: readonly string[];
}

/**
 * What went wrong, independent of how AWS named it: an exception name (`ThrottlingException`), a
 * ProgressEvent ErrorCode (`Throttling`) and a handler's `HandlerErrorCode: Throttling` all land on one kind.
 * docs/ERRORS.md is the table of these, kept in step with this file.
 */
type Kind =
  | 'notFound'
  | 'accessDenied'
  | 'credentials'
  | 'throttling'
  | 'serviceLimit'
  | 'invalid'
  | 'typeNotFound'
  | 'alreadyExists'
  | 'notUpdatable'
  | 'unsupported'
  | 'conflict'
  | 'remote'
  | 'unreachable'
  | 'canceled';

const kinds = new Map<string, Kind>();
const name = (kind: Kind, ...names: string[]) => names.forEach((n) => kinds.set(n, kind));
name('notFound', 'ResourceNotFoundException', 'NotFound', 'RequestTokenNotFoundException');
name(
  'accessDenied',
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedTaggingOperation',
  'UnauthorizedOperation',
);
name(
  'credentials',
  'InvalidCredentialsException',
  'InvalidCredentials',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'CredentialsProviderError',
  'RequestExpired',
  'RequestTimeTooSkewed',
);
name('throttling', 'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded');
name('serviceLimit', 'ServiceLimitExceededException', 'ServiceLimitExceeded');
name(
  'invalid',
  'ValidationException',
  'InvalidRequestException',
  'InvalidRequest',
  'ClientTokenConflictException',
  'SerializationException',
  'InvalidParameterValueException',
);
name('typeNotFound', 'TypeNotFoundException', 'PrivateTypeException');
name('alreadyExists', 'AlreadyExistsException', 'AlreadyExists');
name('notUpdatable', 'NotUpdatableException', 'NotUpdatable');
name('unsupported', 'UnsupportedActionException');
name(
  'conflict',
  'ConcurrentOperationException',
  'ResourceConflictException',
  'ResourceConflict',
  'ConcurrentModificationException',
);
name(
  'remote',
  'ServiceInternalErrorException',
  'ServiceInternalError',
  'HandlerInternalFailureException',
  'HandlerFailureException',
  'GeneralServiceException',
  'NotStabilizedException',
  'NotStabilized',
  'NetworkFailureException',
  'NetworkFailure',
  'InternalFailure',
  'InternalFailureException',
  'ServiceTimeout',
  'ServiceUnavailable',
  'ServiceUnavailableException',
);
name('canceled', 'AbortError');
name('unreachable', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException');

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

const configurationLimitExceeded = SqlState.configuration_limit_exceeded;
const programLimitExceeded = SqlState.program_limit_exceeded;

/** Cloud Control's IAM actions carry the `cloudformation:` prefix. */
const cloudControlAction: Record<string, string> = {
  GetResource: 'cloudformation:GetResource',
  ListResources: 'cloudformation:ListResources',
  CreateResource: 'cloudformation:CreateResource',
  UpdateResource: 'cloudformation:UpdateResource',
  DeleteResource: 'cloudformation:DeleteResource',
  GetResourceRequestStatus: 'cloudformation:GetResourceRequestStatus',
  ListResourceRequests: 'cloudformation:ListResourceRequests',
  CancelResourceRequest: 'cloudformation:CancelResourceRequest',
};

const handlerOf: Record<string, 'read' | 'list' | 'create' | 'update' | 'delete'> = {
  GetResource: 'read',
  ListResources: 'list',
  CreateResource: 'create',
  UpdateResource: 'update',
  DeleteResource: 'delete',
};

interface AwsFacts {
  name: string;
  message: string;
  status?: number;
  requestId?: string;
  attempts?: number;
  code?: string;
}

/** AWS SDK error -> PgError with a SQLSTATE, the AWS error name and message in DETAIL, and a HINT. */
export function pgErrorFromAws(err: unknown, context: AwsErrorContext): PgError {
  if (err instanceof PgError) return err;
  const facts = factsOf(err);
  return build(kindOf(facts, err), facts, context);
}

/**
 * A FAILED ProgressEvent of an asynchronous Create/Update/Delete -> PgError, by the same table as the
 * synchronous exceptions (ErrorCode AlreadyExists -> 23505, and so on).
 */
export function pgErrorFromProgressEvent(
  event: { ErrorCode?: string; StatusMessage?: string; RequestToken?: string },
  context: AwsErrorContext,
): PgError {
  const facts: AwsFacts = {
    name: event.ErrorCode ?? 'GeneralServiceException',
    message: event.StatusMessage ?? '',
  };
  if (event.RequestToken) facts.message += ` (RequestToken: ${event.RequestToken})`;
  return build(kindOf(facts, undefined), facts, context);
}

// Duck-typed rather than instanceof: errors from Node's own modules may come from another realm (jest's VM).
function isErrorLike(err: unknown): err is Error {
  return typeof err === 'object' && err !== null && typeof (err as Error).message === 'string';
}

/** A read of a resource that is not there: GetResource turns it into "no row". */
export function isResourceNotFound(err: unknown): boolean {
  if (!isErrorLike(err)) return false;
  return err.name === 'ResourceNotFoundException' || /HandlerErrorCode:\s*NotFound\b/.test(err.message);
}

function factsOf(err: unknown): AwsFacts {
  if (!isErrorLike(err)) return { name: 'Error', message: String(err) };
  const e = err as Error & { $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number } };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: e.message,
    status: e.$metadata?.httpStatusCode,
    requestId: e.$metadata?.requestId,
    attempts: e.$metadata?.attempts,
    code: networkCode(err),
  };
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (!isErrorLike(err) || depth > 5) return undefined;
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'string' && unreachableCodes.has(code)) return code;
  // The SDK's retry layer may wrap a socket error into a plain Error that keeps only its text.
  const inText = [...err.message.matchAll(/\bE[A-Z_]+\b/g)]
    .map((m) => m[0])
    .find((w) => unreachableCodes.has(w));
  if (inText) return inText;
  const inner = (err as { errors?: unknown }).errors; // AggregateError of a dual-stack connect
  for (const each of Array.isArray(inner) ? (inner as unknown[]) : []) {
    const found = networkCode(each, depth + 1);
    if (found) return found;
  }
  return networkCode(err.cause, depth + 1);
}

function kindOf(facts: AwsFacts, err: unknown): Kind | undefined {
  const byName = kinds.get(facts.name);
  // Generic handler failures carry the handler's own code in the message; it is the more precise one.
  const handlerCode = /HandlerErrorCode:\s*(\w+)/.exec(facts.message)?.[1];
  const byHandler = handlerCode === undefined ? undefined : kinds.get(handlerCode);
  if (byHandler && (byName === undefined || byName === 'remote')) return byHandler;
  if (byName) return byName;
  if (facts.code) return 'unreachable';
  if (facts.status !== undefined && facts.status >= 500) return 'remote';
  if (isErrorLike(err) && '$metadata' in err && facts.status !== undefined) return 'remote';
  return undefined;
}

function build(kind: Kind | undefined, facts: AwsFacts, context: AwsErrorContext): PgError {
  const { operation, table, region, identifier } = context;
  const where = `${table.schema}.${table.name} in ${region}`;
  const what = identifier === undefined ? where : `"${identifier}" (${where})`;
  const detail = detailOf(facts, context);
  const permissions = () => permissionsFor(operation, table);
  const typeName = resourceOf(table)?.typeName ?? 'Cloud Control resource request';
  switch (kind) {
    case 'notFound':
      return new PgError(SqlState.undefined_object, `${typeName} ${what} does not exist`, {
        detail,
        hint: 'It may have been deleted; list the collection table to see what exists in that region.',
      });
    case 'accessDenied':
      return new PgError(SqlState.insufficient_privilege, `AWS denied ${operation} on ${what}`, {
        detail,
        hint:
          `The AWS identity the server runs as (or the role passed as RoleArn) needs these IAM permissions: ` +
          `${permissions().join(', ')}.`,
      });
    case 'credentials':
      return new PgError(
        SqlState.invalid_authorization_specification,
        `AWS rejected the server's credentials for ${operation} in ${region}`,
        {
          detail,
          hint:
            'Configure AWS credentials for the server process (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ' +
            'AWS_PROFILE, or an instance/container role), refresh expired session credentials, and check the system clock.',
        },
      );
    case 'throttling':
      return new PgError(
        configurationLimitExceeded,
        `AWS throttled ${operation} on ${where}${attemptsText(facts)}`,
        {
          detail,
          hint:
            'Retry later. A query without data__identifier in WHERE costs one GetResource per resource; pinning ' +
            'identifiers, or reading the collection table, makes fewer calls.',
        },
      );
    case 'serviceLimit':
      return new PgError(programLimitExceeded, `An AWS service quota stopped ${operation} on ${where}`, {
        detail,
        hint: 'Delete unused resources or ask AWS for a higher quota (Service Quotas console).',
      });
    case 'invalid':
      return new PgError(
        SqlState.invalid_parameter_value,
        `Cloud Control rejected ${operation} on ${what} as invalid`,
        { detail },
      );
    case 'typeNotFound':
      return new PgError(
        SqlState.undefined_table,
        `Resource type ${typeName} of ${table.schema}.${table.name} is not available in ${region}`,
        {
          detail,
          hint: 'Check the region name; not every service is offered in every region.',
        },
      );
    case 'alreadyExists':
      return new PgError(SqlState.unique_violation, `${typeName} ${what} already exists`, {
        detail,
      });
    case 'notUpdatable':
      return new PgError(SqlState.feature_not_supported, `Cloud Control cannot update ${what} in place`, {
        detail,
        hint: `Create-only properties (${createOnly(table)}) cannot change; delete the resource and insert it again.`,
      });
    case 'unsupported':
      return new PgError(
        SqlState.feature_not_supported,
        `${typeName} does not support ${operation} in ${region}`,
        { detail },
      );
    case 'conflict': {
      const token = /RequestToken[:= ]+\s*([-A-Za-z0-9+/=]+)/.exec(facts.message)?.[1];
      return new PgError(
        SqlState.lock_not_available,
        `Another Cloud Control request is in progress on ${what}`,
        {
          detail,
          hint: `Wait for it to finish and retry${token ? ` (its request token is ${token})` : ''}.`,
        },
      );
    }
    case 'unreachable':
      return new PgError(
        SqlState.fdw_unable_to_establish_connection,
        `Could not reach Cloud Control in ${region} for ${operation}${attemptsText(facts)}`,
        {
          detail,
          hint: 'Check the network path to the Cloud Control endpoint (proxy, DNS, AWS_ENDPOINT_URL_CLOUDCONTROL) and retry.',
        },
      );
    case 'canceled':
      return new PgError(SqlState.query_canceled, 'canceling statement due to user request', { detail });
    case 'remote':
      return new PgError(
        SqlState.fdw_error,
        `Cloud Control failed ${operation} on ${what}${attemptsText(facts)}`,
        {
          detail,
          hint: 'The failure is on the AWS side; retrying later usually helps.',
        },
      );
    default:
      return new PgError(
        SqlState.internal_error,
        `${operation} on ${what} failed: ${redact(facts.message, context)}`,
        {
          detail,
        },
      );
  }
}

function detailOf(facts: AwsFacts, context: AwsErrorContext): string {
  const extras = [
    facts.status === undefined ? undefined : `HTTP ${facts.status}`,
    facts.code,
    facts.requestId === undefined ? undefined : `request id ${facts.requestId}`,
  ].filter((x) => x !== undefined);
  const message = redact(facts.message, context);
  return `${facts.name}: ${message}${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`;
}

function attemptsText(facts: AwsFacts): string {
  return facts.attempts !== undefined && facts.attempts > 1 ? ` after ${facts.attempts} attempts` : '';
}

/** The Cloud Control action plus the handler's permissions the catalog lists for the operation. */
export function permissionsFor(operation: string, table: Table): string[] {
  const method =
    table.methods.find((m) => m.operation === operation) ??
    resourceOf(table)
      ?.tables.flatMap((t) => t.methods)
      .find((m) => m.operation === operation);
  const handler = handlerOf[operation];
  const handlerPermissions =
    method?.permissions ?? (handler ? (resourceOf(table)?.definition.permissions[handler] ?? []) : []);
  const action = cloudControlAction[operation];
  return [...(action ? [action] : []), ...handlerPermissions];
}

function createOnly(table: Table): string {
  return (resourceOf(table)?.properties ?? [])
    .filter((p) => p.flags.createOnly)
    .map((p) => p.column)
    .join(', ');
}

/** The resource type a table shows; none for cloud_control's own tables. */
function resourceOf(table: Table): ResourceType | undefined {
  return table.kind === 'resource' || table.kind === 'collection' ? table.resource : undefined;
}

/** AWS messages stay short and never echo what the caller marked secret. */
function redact(message: string, context: AwsErrorContext): string {
  let text = message;
  for (const secret of context.secrets ?? []) {
    if (secret.length >= 4) text = text.split(secret).join('***');
  }
  // Access key ids are not secret on their own, but there is no reason to show them either.
  text = text.replace(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '$1****************');
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}
