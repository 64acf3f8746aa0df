import { setTimeout as sleep } from 'node:timers/promises';
import { GetResourceRequestStatusCommand, type ProgressEvent } from '@aws-sdk/client-cloudcontrol';
import { PgError, SqlState } from '../errors.js';
import type { CallInfo, CloudControl } from './client.js';
import { abortable } from './abortable.js';

export const pollBackoff = { initialMs: 100, factor: 1.5, capMs: 5000 } as const;

/** A RetryAfter further out than this is taken as a clock problem rather than an instruction. */
const retryAfterCapMs = 5 * 60_000;

/**
 * Failed status polls tolerated in a row before the request counts as lost; each poll already had the SDK's
 * own retries, so this only rides out a longer blip (a throttling burst, a dropped connection).
 */
const maxPollFailures = 3;

/** SQLSTATEs of poll failures worth another poll: throttling, AWS-side failure, no answer. */
const transient = new Set<string>(['53400', SqlState.fdw_error, SqlState.fdw_unable_to_establish_connection]);

export type FinalStatus = 'SUCCESS' | 'FAILED' | 'CANCEL_COMPLETE';

export function isFinal(status: string | undefined): status is FinalStatus {
  return status === 'SUCCESS' || status === 'FAILED' || status === 'CANCEL_COMPLETE';
}

/** How long to wait before the next poll: the service's RetryAfter when it names a later time, else the backoff. */
export function nextPollDelay(backoffMs: number, retryAfter: Date | undefined, now = Date.now()): number {
  const until = retryAfter?.getTime();
  if (until !== undefined && Number.isFinite(until) && until > now)
    return Math.min(until - now, retryAfterCapMs);
  return backoffMs;
}

/** Thrown by awaitRequest when polling itself failed: the request's own outcome is unknown. */
export class LostTrack extends Error {
  constructor(readonly error: PgError) {
    super(error.message);
    this.name = 'LostTrack';
  }
}

/**
 * Polls GetResourceRequestStatus until the request reaches a final status and returns that event; calls
 * onChange for each status that differs from the one before. Rejects with the signal's reason on abort,
 * with LostTrack when polls keep failing.
 */
export async function awaitRequest(
  cloud: CloudControl,
  info: CallInfo,
  first: ProgressEvent,
  signal: AbortSignal,
  onChange: (event: ProgressEvent) => void,
  mapError: (err: unknown) => PgError,
): Promise<ProgressEvent> {
  const token = first.RequestToken!;
  let event = first;
  let backoff: number = pollBackoff.initialMs;
  let failures = 0;
  while (!isFinal(event.OperationStatus)) {
    await sleep(nextPollDelay(backoff, event.RetryAfter), undefined, { signal });
    backoff = Math.min(backoff * pollBackoff.factor, pollBackoff.capMs);
    let next: ProgressEvent | undefined;
    try {
      const out = await cloud.call({ ...info, operation: 'GetResourceRequestStatus' }, signal, (client) =>
        client.send(abortable(new GetResourceRequestStatusCommand({ RequestToken: token }), signal)),
      );
      next = out.ProgressEvent;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const error = mapError(err);
      if (!transient.has(error.code) || ++failures >= maxPollFailures) throw new LostTrack(error);
      continue;
    }
    failures = 0;
    if (!next?.OperationStatus) continue;
    const changed = next.OperationStatus !== event.OperationStatus;
    // Keep the first event's identity fields: a status answer may leave them out.
    event = { ...event, ...next, RequestToken: token };
    if (changed) onChange(event);
  }
  return event;
}
