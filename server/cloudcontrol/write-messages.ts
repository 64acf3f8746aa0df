import { PgError, SqlState } from '../errors.js';
import type { WriteOutcome, WriteRequest } from './writes.js';

/** Where one request of a statement stands, so a cancel can say what Cloud Control is still doing. */
export interface Tracked {
  request: WriteRequest;
  /** queued: not sent; sending: sent, no answer yet; waiting: accepted, being awaited; done: has an outcome. */
  state: 'queued' | 'sending' | 'waiting' | 'done';
  requestToken?: string;
  outcome?: WriteOutcome;
}

/** `UpdateResource my-profile in us-east-1`: how notices and details name a request. */
export function label(request: WriteRequest): string {
  return `${request.operation} ${request.identifier} in ${request.region}`;
}

/**
 * The statement was cancelled while requests ran. Carries what is known, so the caller can report the
 * requests that had already ended too.
 */
export class WritesCanceledError extends PgError {
  constructor(
    message: string,
    fields: PgError['fields'],
    /** Outcomes of the requests that had ended, in request order. */
    readonly settled: WriteOutcome[],
    /** Requests Cloud Control may still be running, with their token when it was received. */
    readonly inFlight: { request: WriteRequest; requestToken?: string }[],
  ) {
    super(SqlState.query_canceled, message, fields);
    this.name = 'WritesCanceledError';
  }
}

export function canceledError(reason: unknown, tracked: Tracked[]): WritesCanceledError {
  // The session aborts with its own 57014 (user request or statement timeout): keep its wording.
  const message =
    reason instanceof PgError && reason.code === SqlState.query_canceled
      ? reason.message
      : 'canceling statement due to user request';
  const waiting = tracked.filter((t) => t.state === 'waiting');
  const sending = tracked.filter((t) => t.state === 'sending');
  const queued = tracked.filter((t) => t.state === 'queued').length;
  const settled = tracked.flatMap((t) => (t.outcome ? [t.outcome] : []));

  const lines: string[] = [];
  if (waiting.length > 0) {
    lines.push(
      `Cloud Control goes on with ${waiting.length === 1 ? 'this request' : `these ${waiting.length} requests`}, ` +
        'which the statement stopped waiting for:',
      ...waiting.map((t) => `  ${label(t.request)}, RequestToken ${t.requestToken}`),
    );
  }
  if (sending.length > 0) {
    lines.push(
      'Sent without an answer yet (Cloud Control may have accepted them and then goes on with them):',
      ...sending.map((t) => `  ${label(t.request)}`),
    );
  }
  if (queued > 0) lines.push(`${queued} ${queued === 1 ? 'request was' : 'requests were'} not sent.`);
  if (settled.length > 0) {
    const ok = settled.filter((o) => o.status === 'SUCCESS').length;
    lines.push(`${settled.length} had already ended (${ok} SUCCESS, ${settled.length - ok} not).`);
  }
  if (lines.length === 0) lines.push('No request had been sent.');

  const region = (waiting[0] ?? sending[0])?.request.region;
  const token = waiting[0]?.requestToken;
  const cli = token
    ? `aws cloudcontrol get-resource-request-status --request-token ${token} --region ${region}`
    : `aws cloudcontrol list-resource-requests --region ${region}`;
  const hint =
    region === undefined
      ? undefined
      : `See how they end with SELECT * FROM cloud_control.resource_requests WHERE region = '${region}'` +
        `${token ? ` AND request_token = '${token}'` : ''}, or with ${cli}.`;

  return new WritesCanceledError(
    message,
    { detail: lines.join('\n'), ...(hint ? { hint } : {}) },
    settled,
    [...waiting, ...sending].map((t) => ({
      request: t.request,
      ...(t.requestToken ? { requestToken: t.requestToken } : {}),
    })),
  );
}

/** Polling kept failing: the request was accepted, and how it ends is unknown here. */
export function lostTrackError(cause: PgError, t: Tracked): PgError {
  const { request, requestToken } = t;
  return new PgError(cause.code, cause.message, {
    detail:
      `${cause.fields.detail ?? ''}\nThe ${request.operation} request for ${request.identifier} ` +
      `(RequestToken ${requestToken}) was accepted; Cloud Control goes on with it, and its outcome is unknown here.`,
    hint:
      `${cause.fields.hint ? `${cause.fields.hint} ` : ''}Check it with aws cloudcontrol get-resource-request-status ` +
      `--request-token ${requestToken} --region ${request.region}.`,
  });
}
