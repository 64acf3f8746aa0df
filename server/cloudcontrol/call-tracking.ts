import type { CloudControlClient } from '@aws-sdk/client-cloudcontrol';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types';
import * as metrics from '../metrics.js';

/**
 * The Cloud Control calls one statement made: the session's activity view shows them while it runs. A session
 * hands its statement's tally down with its reads and writes (ReadContext, CallInfo.tally); `CloudControl.call`
 * counts in it, so a call counts for the statement that made it (a coalesced read for the one whose call it joined).
 */
export interface CallTally {
  inFlight: number;
  done: number;
}

/**
 * Counts ThrottlingException answers on every attempt, including those the SDK retried successfully (a call's
 * own outcome shows only its last attempt). Runs inside the retry middleware, so once per attempt.
 */
export function countThrottles(client: CloudControlClient, region: string): void {
  const middleware: FinalizeRequestMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (err) {
      if ((err as Error).name === 'ThrottlingException')
        metrics.cloudControlThrottles.inc({
          operation: String(context.commandName ?? '').replace(/Command$/, ''),
          region,
        });
      throw err;
    }
  };
  client.middlewareStack.addRelativeTo(middleware, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: 'countThrottles',
  });
}

/** The SDK's retries of one call: every attempt after the first (`$metadata.attempts`, on success or failure). */
export function countRetries(operation: string, region: string, attempts: number | undefined): void {
  if (attempts !== undefined && attempts > 1)
    metrics.cloudControlRetries.inc({ operation, region }, attempts - 1);
}
