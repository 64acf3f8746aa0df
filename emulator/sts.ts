/**
 * Identities: which account a request's access key belongs to, and the part of STS the SDK's credential
 * providers call: AssumeRole and GetCallerIdentity, in the awsQuery protocol (a form-encoded POST; an XML answer;
 * errors as <ErrorResponse>). Temporary credentials expire as STS's do: a Cloud Control call signed with an
 * expired session key gets ExpiredTokenException.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { escapeXml, QueryError } from './cloudformation.js';
import { ApiError } from './errors.js';
import { accountId as defaultAccountId } from './resource-model.js';

const xmlns = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface IdentityOptions {
  /** Access key id -> 12-digit account id; every other long-term key belongs to the default account 123456789012. */
  accessKeys?: Record<string, string>;
  /** Role ARNs whose sessions Cloud Control refuses with AccessDeniedException (AssumeRole itself succeeds). */
  denyRoles?: string[];
  /** Role ARN -> the ExternalId its trust policy requires; AssumeRole without it is AccessDenied. */
  externalIds?: Record<string, string>;
  /** The shortest DurationSeconds AssumeRole accepts (STS: 900); tests lower it to see sessions expire. */
  minSessionSeconds?: number;
}

/** Who signed a request: the account, the principal's ARN, and the role when it is an assumed-role session. */
export interface Caller {
  account: string;
  arn: string;
  userId: string;
  roleArn?: string;
}

interface Session extends Caller {
  secretAccessKey: string;
  expires: number;
}

const roleArnPattern = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/;

export class EmulatedSts {
  readonly #sessions = new Map<string, Session>();

  constructor(private readonly options: IdentityOptions = {}) {}

  /** The caller behind an access key id; an expired session's key is refused as STS's services do. */
  identify(accessKeyId: string): Caller {
    const session = this.#sessions.get(accessKeyId);
    if (session !== undefined) {
      if (Date.now() >= session.expires) {
        throw new ApiError(
          'com.amazon.coral.service',
          'ExpiredTokenException',
          400,
          'The security token included in the request is expired',
        );
      }
      return session;
    }
    const account = this.options.accessKeys?.[accessKeyId] ?? defaultAccountId;
    return {
      account,
      arn: `arn:aws:iam::${account}:user/emulator`,
      userId: `AIDA${accessKeyId.slice(4, 20)}`,
    };
  }

  /** Whether Cloud Control refuses this caller everything (a role configured to deny). */
  denies(caller: Caller): boolean {
    return caller.roleArn !== undefined && (this.options.denyRoles ?? []).includes(caller.roleArn);
  }

  /** The XML body answering one STS request. */
  handle(params: URLSearchParams, caller: Caller): string {
    const action = params.get('Action') ?? '';
    switch (action) {
      case 'GetCallerIdentity':
        return response(
          action,
          element('Arn', caller.arn) + element('UserId', caller.userId) + element('Account', caller.account),
        );
      case 'AssumeRole':
        return response(action, this.#assumeRole(params, caller));
      default:
        throw new QueryError(
          'InvalidAction',
          400,
          `Could not find operation ${action} for version 2011-06-15`,
        );
    }
  }

  /** Forgets every session. */
  reset(): void {
    this.#sessions.clear();
  }

  #assumeRole(params: URLSearchParams, caller: Caller): string {
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const role = roleArnPattern.exec(roleArn);
    if (role === null) throw validation(`${roleArn} is invalid`);
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      throw validation(
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: ` +
          'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
      );
    const min = this.options.minSessionSeconds ?? 900;
    const duration = params.has('DurationSeconds') ? Number(params.get('DurationSeconds')) : 3600;
    if (!Number.isInteger(duration) || duration < min || duration > 43200)
      throw validation(
        `1 validation error detected: Value '${params.get('DurationSeconds')}' at 'durationSeconds' failed to ` +
          `satisfy constraint: Member must have value greater than or equal to ${min}`,
      );
    const required = this.options.externalIds?.[roleArn];
    if (required !== undefined && params.get('ExternalId') !== required)
      throw new QueryError(
        'AccessDenied',
        403,
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    const account = role[1]!;
    const roleId = `AROA${randomBytes(8).toString('hex').toUpperCase()}`;
    const arn = `arn:aws:sts::${account}:assumed-role/${role[2]!}/${sessionName}`;
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const session: Session = {
      account,
      arn,
      userId: `${roleId}:${sessionName}`,
      roleArn,
      secretAccessKey: randomBytes(30).toString('base64'),
      expires: Date.now() + duration * 1000,
    };
    this.#sessions.set(accessKeyId, session);
    return (
      '<Credentials>' +
      element('AccessKeyId', accessKeyId) +
      element('SecretAccessKey', session.secretAccessKey) +
      element('SessionToken', randomBytes(48).toString('base64')) +
      element('Expiration', new Date(session.expires).toISOString()) +
      '</Credentials>' +
      `<AssumedRoleUser>${element('Arn', arn)}${element('AssumedRoleId', session.userId)}</AssumedRoleUser>`
    );
  }
}

function validation(message: string): QueryError {
  return new QueryError('ValidationError', 400, message);
}

function response(action: string, result: string): string {
  return (
    `<${action}Response xmlns="${xmlns}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function element(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}
